"""HTTP signatures for ActivityPub: we sign draft-cavage, and accept draft-cavage and RFC 9421.

    info = parse_signature(method, url, headers)          # which key to fetch; no crypto yet
    verify_request(method, url, headers, body, key_pem)   # SignatureError(reason) on any failure

`url` is the absolute URL the request was received at (scheme://host[:port]/path?query).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from . import cavage, rfc9421
from .base import Message, SignatureError, SignedRequestInfo, parse_message, utc_now
from .cavage import sign_request
from .keys import generate_key_pair, load_public_key

__all__ = [
    "SignatureError",
    "SignedRequestInfo",
    "generate_key_pair",
    "parse_signature",
    "sign_request",
    "verify_request",
]

log = logging.getLogger(__name__)
_SF_MEMBER = re.compile(r"\s*[a-z*][a-z0-9_.*-]*=:")  # how an RFC 9421 Signature value starts


def _parse(msg: Message) -> cavage.CavageSignature | rfc9421.Rfc9421Signature:
    signature_input, signature = msg.header("signature-input"), msg.header("signature")
    if signature_input is not None:
        if signature is None:
            raise SignatureError("Signature-Input header without a Signature header")
        return rfc9421.parse(signature_input, signature)
    if signature is not None:
        if _SF_MEMBER.match(signature):
            raise SignatureError("Signature-Input header missing")
        return cavage.parse(signature)
    authorization = msg.header("authorization") or ""
    if authorization[:10].lower() == "signature ":
        return cavage.parse(authorization[10:])
    raise SignatureError("signature header missing")


def _info(sig: cavage.CavageSignature | rfc9421.Rfc9421Signature) -> SignedRequestInfo:
    scheme = rfc9421.SCHEME if isinstance(sig, rfc9421.Rfc9421Signature) else cavage.SCHEME
    return SignedRequestInfo(key_id=sig.key_id, scheme=scheme, covered=sig.covered)


def parse_signature(method: str, url: str, headers: Mapping[str, str]) -> SignedRequestInfo:
    """Which scheme and key signed this request. Does not verify anything."""
    try:
        return _info(_parse(parse_message(method, url, headers)))
    except SignatureError:
        raise
    except Exception as exc:  # garbage from a peer is a 401, never a 500
        log.warning("unexpected error while parsing a signature", exc_info=True)
        raise SignatureError("signature header could not be read") from exc


def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_pem: str,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(hours=1),
) -> SignedRequestInfo:
    """Full check: structure, required coverage, clock, body digest, then the signature itself."""
    try:
        msg = parse_message(method, url, headers)
        sig = _parse(msg)
        key = load_public_key(public_key_pem)
        if isinstance(sig, rfc9421.Rfc9421Signature):
            rfc9421.verify(msg, sig, body, key, utc_now(now), max_skew)
        else:
            cavage.verify(msg, sig, body, key, utc_now(now), max_skew)
        return _info(sig)
    except SignatureError:
        raise
    except Exception as exc:  # the inbox must answer 401, never 500, whatever a peer sends
        log.warning("unexpected error while verifying a signature", exc_info=True)
        raise SignatureError("signature could not be checked") from exc
