"""Ed25519 keys for FEP-8b32 object integrity proofs: our own as a Multikey in the actor's `assertionMethod`,
and the remote ones read back from a Multikey's `publicKeyMultibase`.

The multibase/multicodec encoding is bovine's (`encode_public_key_to_multibase`, `decode_multibase_public_key`):
base58-btc with the `z` prefix and the 0xed01 Ed25519 multicodec header, as Fedify and Mastodon write it.
"""

from __future__ import annotations

import functools

from bovine.crypto.multibase import decode_multibase_public_key, encode_public_key_to_multibase
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import load_pem_private_key

KEY_FRAGMENT = "#ed25519-key"


class MultikeyError(ValueError):
    """A Multikey we cannot use (not Ed25519, not multibase)."""


def proof_key_id(actor_uri: str) -> str:
    """The Multikey's id, also the `verificationMethod` of every proof we make."""
    return actor_uri + KEY_FRAGMENT


@functools.lru_cache(maxsize=256)
def private_key(pem: str) -> ed25519.Ed25519PrivateKey:
    """Our own signing key (cached: every outgoing Create/Update is signed)."""
    key = load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError("the proof key must be an Ed25519 private key")
    return key


def public_multibase(private_pem: str) -> str:
    return encode_public_key_to_multibase(private_key(private_pem).public_key())


def assertion_method(actor_uri: str, private_pem: str | None) -> list[dict]:
    """The actor's `assertionMethod`: one Multikey, or nothing for an account without a proof key."""
    if not private_pem:
        return []
    return [{"id": proof_key_id(actor_uri), "type": "Multikey", "controller": actor_uri,
             "publicKeyMultibase": public_multibase(private_pem)}]


def ed25519_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    """A remote Multikey's public key; only Ed25519 signs eddsa-jcs-2022 proofs."""
    try:
        key = decode_multibase_public_key(value)
    except (ValueError, IndexError, TypeError) as exc:
        raise MultikeyError("publicKeyMultibase is not a multibase key") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise MultikeyError("the Multikey is not an Ed25519 key")
    return key
