"""discovery and safety: indexable, blocks, mutes, reports, followed tags, feed/search indexes

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 06:45:00
"""

from alembic import op
import sqlalchemy as sa
import cara_fed.db


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

# Full-text search over artworks on PostgreSQL (SQLite uses LIKE). Kept out of the models: the models
# declare it with ddl_if(postgresql); queries_discovery.py searches with the very same expression.
SEARCH_INDEX = ("CREATE INDEX IF NOT EXISTS ix_artworks_search ON artworks USING gin "
                "(to_tsvector('simple'::regconfig, (((title)::text || ' '::text) || description)))")


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild of accounts on SQLite: nothing else about the table changes).
    op.add_column('accounts', sa.Column('indexable', sa.Boolean(), server_default=sa.true(), nullable=False))

    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('uri', sa.String(length=2048), nullable=True),
    sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'target_id', name='uq_blocks_pair'),
    sa.UniqueConstraint('uri')
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index('ix_blocks_target', ['target_id'], unique=False)

    op.create_table('mutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'target_id', name='uq_mutes_pair')
    )

    op.create_table('tag_follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=100), nullable=False),
    sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'tag', name='uq_tag_follows_account_tag')
    )

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('artwork_id', sa.Integer(), nullable=True),
    sa.Column('object_uris', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('uri', sa.String(length=2048), nullable=True),
    sa.Column('forwarded', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['artwork_id'], ['artworks.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['accounts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['accounts.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uri')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_state_created', ['state', 'created_at'], unique=False)

    with op.batch_alter_table('artwork_tags', schema=None) as batch_op:
        batch_op.create_index('ix_artwork_tags_tag_artwork', ['tag', 'artwork_id'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_account_created', ['account_id', 'created_at'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SEARCH_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_artworks_search")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_account_created')
    with op.batch_alter_table('artwork_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_artwork_tags_tag_artwork')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_state_created')
    op.drop_table('reports')
    op.drop_table('tag_follows')
    op.drop_table('mutes')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_blocks_target')
    op.drop_table('blocks')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('indexable')
