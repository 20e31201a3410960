"""instance rules written by admins (issue 18)

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 04:15:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0026'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No rules seeded: a fresh instance has none until an admin writes them (as on Mastodon).
    op.create_table(
        'instance_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('hint', sa.String(length=1000), nullable=False),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('instance_rules')
