"""the daily digest email: an account's opt-in (mail_digests) and a mail's one-click unsubscribe link (issue 18)

Revision ID: 0028
Revises: 0029
Create Date: 2026-12-06 20:00:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0028'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No row = no digest: off by default, and nothing to back-fill.
    op.create_table(
        'mail_digests',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('enabled_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_sent_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_checked_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id'),
    )
    with op.batch_alter_table('outgoing_mails') as batch:
        batch.add_column(sa.Column('unsubscribe_url', sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outgoing_mails') as batch:
        batch.drop_column('unsubscribe_url')
    op.drop_table('mail_digests')
