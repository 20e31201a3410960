"""artworks.edited_at: when the artist last changed what a work shows (not pinning, re-stamping or review)

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-05 16:30:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0015'
down_revision = '0010'  # after scheduled_runs
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not backfilled from updated_at: pinning, re-stamping and review touched it too, so it cannot tell an
    # edit from those (the very bug this column fixes). Existing works read as unedited until edited again.
    op.add_column('artworks', sa.Column('edited_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('artworks', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
