"""media hardening: counted, backed-off remote fetches; which worker claimed an asset

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 08:00:00
"""

from alembic import op
import sqlalchemy as sa
import cara_fed.db


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no batch rebuild of media_assets on SQLite.
    op.add_column('media_assets', sa.Column('fetch_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('media_assets', sa.Column('next_attempt_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('media_assets', sa.Column('claimed_by', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('fetch_attempts')
