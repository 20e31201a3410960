"""social layer: likes, boosts, bookmarks, comments, comment policy, notification keyset index

Revision ID: 0005
Revises: 0006 (merged after issue6-discovery)
"""

import sqlalchemy as sa
from alembic import op

import cara_fed.db

revision = '0005'
down_revision = '0006'  # after discovery/safety, which main merged first (0004 -> 0006 -> 0005)
branch_labels = None
depends_on = None


def _pair_table(name: str, with_uri: bool) -> None:
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('artwork_id', sa.Integer(), nullable=False),
    ]
    if with_uri:
        columns.append(sa.Column('uri', sa.String(length=2048), nullable=True))
    columns += [
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['artwork_id'], ['artworks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('account_id', 'artwork_id', name=f'uq_{name}_account_artwork'),
    ]
    if with_uri:
        columns.append(sa.UniqueConstraint('uri'))
    op.create_table(name, *columns)
    if with_uri:
        op.create_index(f'ix_{name}_artwork', name, ['artwork_id'])


def upgrade() -> None:
    _pair_table('likes', True)
    _pair_table('boosts', True)
    _pair_table('bookmarks', False)
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('artwork_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('uri', sa.String(length=2048), nullable=True),
        sa.Column('url', sa.String(length=2048), nullable=True),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('content_html', sa.Text(), nullable=False),
        sa.Column('mentions', sa.JSON(), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['artwork_id'], ['artworks.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['parent_id'], ['comments.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uri'),
    )
    op.create_index('ix_comments_artwork_state', 'comments', ['artwork_id', 'state', 'id'])
    op.create_index('ix_comments_account_created', 'comments', ['account_id', 'created_at'])
    with op.batch_alter_table('artworks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_policy', sa.String(length=16), nullable=False,
                                      server_default='everyone'))
    op.create_index('ix_notifications_account_id', 'notifications', ['account_id', 'id'])


def downgrade() -> None:
    op.drop_index('ix_notifications_account_id', table_name='notifications')
    with op.batch_alter_table('artworks', schema=None) as batch_op:
        batch_op.drop_column('comment_policy')
    op.drop_table('comments')
    op.drop_table('bookmarks')
    op.drop_table('boosts')
    op.drop_table('likes')
