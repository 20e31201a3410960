"""accounts: portfolio archives being built, imports (following CSV, portfolio archive), and the import that
recreated an artwork (issue 18)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-06 03:50:00
"""

from alembic import op
import sqlalchemy as sa

import cara_fed.db


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'data_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('state_changed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('file_name', sa.String(length=128), nullable=True),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', cara_fed.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_data_exports_account_id', 'data_exports', ['account_id'])
    op.create_index('ix_data_exports_expires_at', 'data_exports', ['expires_at'])
    op.create_table(
        'data_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('state_changed_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('failures', sa.JSON(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', cara_fed.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_data_imports_account_id', 'data_imports', ['account_id'])
    with op.batch_alter_table('artworks') as batch:
        batch.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch.create_index('ix_artworks_import_id', ['import_id'])
        batch.create_foreign_key('fk_artworks_import_id', 'data_imports', ['import_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('artworks') as batch:
        batch.drop_constraint('fk_artworks_import_id', type_='foreignkey')
        batch.drop_index('ix_artworks_import_id')
        batch.drop_column('import_id')
    op.drop_index('ix_data_imports_account_id', table_name='data_imports')
    op.drop_table('data_imports')
    op.drop_index('ix_data_exports_expires_at', table_name='data_exports')
    op.drop_index('ix_data_exports_account_id', table_name='data_exports')
    op.drop_table('data_exports')
