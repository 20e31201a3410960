"""Key loading, key generation and the signature algorithms both schemes share."""

from __future__ import annotations

import functools
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from .base import SignatureError

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def load_public_key(pem: str) -> PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm, AttributeError) as exc:
        raise SignatureError("the actor's public key is not a readable PEM key") from exc
    if not isinstance(key, PublicKey):
        raise SignatureError(f"the actor's public key type ({type(key).__name__}) is not supported")
    return key


@functools.lru_cache(maxsize=256)
def load_private_key(pem: str) -> PrivateKey:
    """Our own signing key; a failure here is a configuration bug, so it is a ValueError.
    Cached: parsing checks the RSA key (~50 ms), which would otherwise dominate every signed request."""
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("signing key is not an unencrypted PEM private key") from exc
    if not isinstance(key, PrivateKey):
        raise ValueError("signing key must be RSA or Ed25519")
    return key


def generate_key_pair() -> tuple[str, str]:
    """(private_pem, public_pem): RSA 2048, what every fediverse server can verify."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private_pem, public_pem


def key_kind(key: PublicKey) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return f"EC {key.curve.name}"


def _rsa(pad: Callable[[], padding.AsymmetricPadding], hash_: Callable[[], hashes.HashAlgorithm]):
    def verify(key: PublicKey, signature: bytes, data: bytes) -> None:
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature, data, pad(), hash_())

    return "RSA", verify


def _ed25519(key: PublicKey, signature: bytes, data: bytes) -> None:
    assert isinstance(key, ed25519.Ed25519PublicKey)
    key.verify(signature, data)


def _ecdsa(curve: str, hash_: Callable[[], hashes.HashAlgorithm], size: int):
    def verify(key: PublicKey, signature: bytes, data: bytes) -> None:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        # RFC 9421 §3.3.4: the signature is r || s, fixed width; cryptography wants DER.
        if len(signature) != 2 * size:
            raise InvalidSignature
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_()))

    return f"EC {curve}", verify


def _pss512() -> padding.AsymmetricPadding:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)  # RFC 9421 §3.3.1


# Algorithm name -> (key kind it needs, verifier). Names are RFC 9421's, plus the draft's rsa-sha512.
ALGORITHMS = {
    "rsa-v1_5-sha256": _rsa(padding.PKCS1v15, hashes.SHA256),
    "rsa-v1_5-sha512": _rsa(padding.PKCS1v15, hashes.SHA512),
    "rsa-pss-sha512": _rsa(_pss512, hashes.SHA512),
    "ed25519": ("Ed25519", _ed25519),
    "ecdsa-p256-sha256": _ecdsa("secp256r1", hashes.SHA256, 32),
    "ecdsa-p384-sha384": _ecdsa("secp384r1", hashes.SHA384, 48),
}


def algorithms_for_key(key: PublicKey) -> list[str]:
    """What to try when the sender did not name an algorithm. RSA: PKCS#1 v1.5 is what the fediverse
    uses; PSS-SHA512 is what RFC 9421 examples and draft-cavage hs2019 meant. Both are sound with an
    RSA key, so accepting either opens no downgrade."""
    kind = key_kind(key)
    return [name for name, (needs, _) in ALGORITHMS.items() if needs == kind and name != "rsa-v1_5-sha512"]


def verify_signature(alg: str, key: PublicKey, signature: bytes, data: bytes, key_id: str) -> None:
    needs, verify = ALGORITHMS[alg]
    if needs != key_kind(key):
        raise SignatureError(f"algorithm {alg} does not fit the {key_kind(key)} key {key_id}")
    try:
        verify(key, signature, data)
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError(f"signature does not verify with key {key_id}") from exc


def verify_any(algs: list[str], key: PublicKey, signature: bytes, data: bytes, key_id: str) -> str:
    """Verify with the first algorithm that works; returns its name."""
    for alg in algs:
        try:
            verify_signature(alg, key, signature, data, key_id)
            return alg
        except SignatureError:
            continue
    raise SignatureError(f"signature does not verify with key {key_id}")


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)
