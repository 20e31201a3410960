"""instance rules written by admins, and the moderation audit log (issue 18)

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-06 04:15:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0026'
down_revision = '0025'
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
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('target', sa.String(length=300), nullable=False),
        sa.Column('target_account_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('appeal_state', sa.String(length=16), nullable=False),
        sa.Column('appeal_text', sa.Text(), nullable=False),
        sa.Column('appealed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('appeal_decided_by_id', sa.Integer(), nullable=True),
        sa.Column('appeal_note', sa.Text(), nullable=False),
        sa.Column('appeal_decided_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['accounts.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['appeal_decided_by_id'], ['accounts.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['target_account_id'], ['accounts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_target_id', 'audit_log', ['target', 'id'])
    op.create_index('ix_audit_log_target_account_id', 'audit_log', ['target_account_id'])
    op.create_index('ix_audit_log_appeal_state', 'audit_log', ['appeal_state'])


def downgrade() -> None:
    op.drop_table('audit_log')
    op.drop_table('instance_rules')
