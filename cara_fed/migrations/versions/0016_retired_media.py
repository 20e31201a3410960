"""media: retired_media (replaced public files keep being served for a grace period, then retention deletes them)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:10:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'retired_media',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=True),
        sa.Column('delete_after', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['media_assets.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_retired_media_asset_id', 'retired_media', ['asset_id'])
    op.create_index('ix_retired_media_delete_after', 'retired_media', ['delete_after'])


def downgrade() -> None:
    op.drop_index('ix_retired_media_delete_after', table_name='retired_media')
    op.drop_index('ix_retired_media_asset_id', table_name='retired_media')
    op.drop_table('retired_media')
