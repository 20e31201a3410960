"""accounts: aliases (alsoKnownAs) and moves (movedTo) (issue 18)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 03:50:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('also_known_as', sa.JSON(), server_default='[]', nullable=False))
        batch.add_column(sa.Column('moved_to_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('moved_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_accounts_moved_to', 'accounts', ['moved_to_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_constraint('fk_accounts_moved_to', type_='foreignkey')
        batch.drop_column('moved_at')
        batch.drop_column('moved_to_id')
        batch.drop_column('also_known_as')
