"""cloaking: artists' opt-in (per work and default), what a work's files carry, cloaking progress

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 08:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: no batch rebuild of these tables on SQLite.
    op.add_column('accounts', sa.Column('cloak_default', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('artworks', sa.Column('cloak', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('artworks', sa.Column('cloaked', sa.JSON(), nullable=True))
    op.add_column('media_assets', sa.Column('progress', sa.Integer(), server_default='0', nullable=False))
    op.add_column('media_assets', sa.Column('eta_seconds', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_column('eta_seconds')
        batch_op.drop_column('progress')
    with op.batch_alter_table('artworks', schema=None) as batch_op:
        batch_op.drop_column('cloaked')
        batch_op.drop_column('cloak')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('cloak_default')
