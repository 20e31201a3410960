"""indexes for the housekeeping deletes that every login runs (expired sessions, old failures)

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-06 20:00:00
"""

from alembic import op


revision = '0029'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each login deletes expired sessions and failures older than the window: without these, a table scan per
    # login (seen in bench/login_storm.py on PostgreSQL).
    op.create_index('ix_login_sessions_expires_at', 'login_sessions', ['expires_at'])
    op.create_index('ix_login_failures_created_at', 'login_failures', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_login_failures_created_at', table_name='login_failures')
    op.drop_index('ix_login_sessions_expires_at', table_name='login_sessions')
