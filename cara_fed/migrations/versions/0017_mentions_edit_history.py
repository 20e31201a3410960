"""mentions (artworks.mentions, accounts.bio_mentions) and edit history (artwork_edits)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 00:30:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing texts keep their plain @names until next saved: resolving them needs the application's rules.
    op.add_column('artworks', sa.Column('mentions', sa.JSON(), server_default='[]', nullable=False))
    op.add_column('accounts', sa.Column('bio_mentions', sa.JSON(), server_default='[]', nullable=False))
    op.create_table(
        'artwork_edits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('artwork_id', sa.Integer(), nullable=False),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description_html', sa.Text(), nullable=False),
        sa.Column('content_warning', sa.String(length=500), nullable=False),
        sa.Column('sensitive', sa.Boolean(), nullable=False),
        sa.Column('media', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['artwork_id'], ['artworks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_artwork_edits_artwork_id', 'artwork_edits', ['artwork_id'])


def downgrade() -> None:
    op.drop_index('ix_artwork_edits_artwork_id', table_name='artwork_edits')
    op.drop_table('artwork_edits')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('bio_mentions')
    with op.batch_alter_table('artworks', schema=None) as batch_op:
        batch_op.drop_column('mentions')
