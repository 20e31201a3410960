"""accounts: deletion with a grace period, and the tombstone left behind (issue 18)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 04:20:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('deletion_due_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('deletion_by', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('deleted_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
        batch.create_index('ix_accounts_deletion_due_at', ['deletion_due_at'])


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_index('ix_accounts_deletion_due_at')
        batch.drop_column('deleted_at')
        batch.drop_column('deletion_by')
        batch.drop_column('deletion_due_at')
