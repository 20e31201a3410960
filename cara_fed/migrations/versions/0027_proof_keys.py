"""accounts: an Ed25519 key per local account for FEP-8b32 object integrity proofs, and the Multikeys remote
actors publish in assertionMethod (issue 17)

Existing local accounts get their key here, so every actor publishes a Multikey from the first request after
the upgrade (new accounts get theirs at sign-up, services/accounts.py).

Revision ID: 0027
Revises: 0030
Create Date: 2026-12-06 20:00:00
"""

from alembic import op
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519


revision = '0027'
down_revision = '0030'
branch_labels = None
depends_on = None


def _new_key() -> str:
    # The same as cara_fed.services.accounts.generate_proof_key, frozen here as migrations must be.
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('ed25519_private_key_pem', sa.Text(), nullable=True))
        batch.add_column(sa.Column('assertion_keys', sa.JSON(), server_default='{}', nullable=False))
    bind = op.get_bind()
    ids = bind.execute(sa.text("SELECT id FROM accounts WHERE domain IS NULL")).scalars().all()
    for account_id in ids:
        bind.execute(sa.text("UPDATE accounts SET ed25519_private_key_pem = :pem WHERE id = :id"),
                     {"pem": _new_key(), "id": account_id})


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('assertion_keys')
        batch.drop_column('ed25519_private_key_pem')
