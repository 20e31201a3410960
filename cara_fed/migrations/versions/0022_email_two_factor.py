"""accounts: email verification, single-use account tokens, the outgoing mail queue, TOTP two-factor and
recovery codes (issue 18)

Accounts that already have an email are marked verified: they signed up before verification existed and must
not lose anything they could do.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 03:30:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('email_verified_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('totp_enabled_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    op.execute("UPDATE accounts SET email_verified_at = created_at WHERE email IS NOT NULL AND domain IS NULL")
    op.create_table(
        'account_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_account_tokens_account_id', 'account_tokens', ['account_id'])
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('used_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recovery_codes_account_id', 'recovery_codes', ['account_id'])
    op.create_table(
        'outgoing_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('to_address', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('state_changed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outgoing_mails_state_next', 'outgoing_mails', ['state', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_outgoing_mails_state_next', table_name='outgoing_mails')
    op.drop_table('outgoing_mails')
    op.drop_index('ix_recovery_codes_account_id', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index('ix_account_tokens_account_id', table_name='account_tokens')
    op.drop_table('account_tokens')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_enabled_at')
        batch.drop_column('totp_secret')
        batch.drop_column('email_verified_at')
