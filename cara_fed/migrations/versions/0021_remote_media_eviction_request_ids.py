"""media_assets.last_viewed_at / evicted_at (remote media not viewed for a while is evicted and fetched again
on demand); outgoing_activities.request_id (the request that caused a delivery, sent as X-Request-Id)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 03:30:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0021'
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL last_viewed_at: never served since this migration; retention then counts from state_changed_at.
    op.add_column('media_assets', sa.Column('last_viewed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('media_assets', sa.Column('evicted_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('outgoing_activities', sa.Column('request_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outgoing_activities', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_column('evicted_at')
        batch_op.drop_column('last_viewed_at')
