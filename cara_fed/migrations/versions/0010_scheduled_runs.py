"""operations: scheduled_runs (exactly one scheduler claims each run of a periodic job)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-05 16:30:00
"""

from alembic import op
import sqlalchemy as sa
import cara_fed.db


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduled_runs',
        sa.Column('job', sa.String(length=64), nullable=False),
        sa.Column('slot', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_by', sa.String(length=128), nullable=False),
        sa.Column('claimed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job', 'slot'),
    )


def downgrade() -> None:
    op.drop_table('scheduled_runs')
