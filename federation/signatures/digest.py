"""Body digests: `Digest` (RFC 3230, used with draft-cavage) and `Content-Digest` (RFC 9530, RFC 9421)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import http_sf

from .base import SignatureError

# Both headers name the same two hashes; anything weaker (MD5, SHA-1) is ignored, never trusted.
_HASHES = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def check_digest(value: str, body: bytes) -> None:
    """`Digest: SHA-256=<b64>[, SHA-512=<b64>]`: every supported entry must match, and one must exist."""
    checked = 0
    for entry in value.split(","):
        alg, sep, encoded = entry.strip().partition("=")
        hash_ = _HASHES.get(alg.strip().lower())
        if not sep or hash_ is None:
            continue
        try:
            claimed = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("Digest is not valid base64") from exc
        if not hmac.compare_digest(claimed, hash_(body).digest()):
            raise SignatureError("Digest does not match the body")
        checked += 1
    if not checked:
        raise SignatureError("Digest has no SHA-256 or SHA-512 value")


def check_content_digest(value: str, body: bytes) -> None:
    """`Content-Digest: sha-256=:<b64>:` - an RFC 8941 dictionary of byte sequences."""
    try:
        parsed = http_sf.parse(value.encode("utf-8"), tltype="dictionary")
    except Exception as exc:  # http_sf raises assorted types on garbage; all of them mean "malformed"
        raise SignatureError("Content-Digest is malformed") from exc
    assert isinstance(parsed, dict)
    checked = 0
    for alg, member in parsed.items():
        hash_ = _HASHES.get(alg)
        if hash_ is None:
            continue
        claimed = member[0] if isinstance(member, tuple) else None
        if not isinstance(claimed, bytes):
            raise SignatureError(f"Content-Digest {alg} is not a byte sequence")
        if not hmac.compare_digest(claimed, hash_(body).digest()):
            raise SignatureError("Content-Digest does not match the body")
        checked += 1
    if not checked:
        raise SignatureError("Content-Digest has no sha-256 or sha-512 value")
