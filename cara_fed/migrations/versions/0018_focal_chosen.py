"""media_assets.focal_chosen: the artist (or a client app) set the thumbnail focal point, so processing keeps it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing points were all set by the pipeline (v1 always answers the centre) or by a client app before
    # processing, which then overwrote it: none is known to be chosen, so false for all.
    op.add_column('media_assets', sa.Column('focal_chosen', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_column('focal_chosen')
