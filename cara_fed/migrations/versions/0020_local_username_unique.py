"""accounts: local usernames unique in the database (uq_accounts_local_username)

The (username, domain) constraint never held for local accounts: their domain is NULL, and NULLs are distinct
in a unique constraint, so two sign-ups at the same moment could both take one name.

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-06 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    taken = op.get_bind().execute(sa.text(
        "SELECT username, COUNT(*) FROM accounts WHERE domain IS NULL GROUP BY username HAVING COUNT(*) > 1"
        " ORDER BY username")).all()
    if taken:
        # Which account keeps the name is the admin's call (one may be the real artist): refuse, name them.
        names = ", ".join(f"{name!r} ({count} accounts)" for name, count in taken)
        raise RuntimeError(
            f"Cannot make local usernames unique: more than one local account is named {names}. Rename all but "
            "one of each (UPDATE accounts SET username = '...' WHERE id = ...; see their ids with SELECT id, "
            "username, email, created_at FROM accounts WHERE domain IS NULL AND username = '...'), then run the "
            "migration again.")
    op.create_index('uq_accounts_local_username', 'accounts', ['username'], unique=True,
                    sqlite_where=sa.text('domain IS NULL'), postgresql_where=sa.text('domain IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_accounts_local_username', table_name='accounts')
