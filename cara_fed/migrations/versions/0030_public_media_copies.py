"""media_derivatives.public_copy: which derivatives have a copy the store/CDN serves itself (issue 15)

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-06 19:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: every existing derivative starts with no public copy (`cara-fed media sync-public`).
    op.add_column('media_derivatives', sa.Column('public_copy', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_derivatives') as batch_op:
        batch_op.drop_column('public_copy')
