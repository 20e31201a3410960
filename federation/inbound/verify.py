"""The inbox's HTTP signature check: exactly `signatures.verify_request`'s steps (parse, required coverage,
clock, body digest, then the signature itself), but the request is parsed once for both "which key?" and
the check, and a key's PEM is parsed once per process instead of once per request.

    signed = read_signature(method, url, headers)   # SignatureError if unreadable; signed.key_id
    check(signed, body, public_key_pem)              # SignatureError on any failure
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from federation.signatures import SignatureError, _parse, cavage, rfc9421
from federation.signatures.base import Message, parse_message, utc_now
from federation.signatures.keys import PublicKey, load_public_key

log = logging.getLogger(__name__)
MAX_SKEW = timedelta(hours=1)


@dataclass(frozen=True)
class Signed:
    msg: Message
    sig: cavage.CavageSignature | rfc9421.Rfc9421Signature

    @property
    def key_id(self) -> str:
        return self.sig.key_id


def read_signature(method: str, url: str, headers: Mapping[str, str]) -> Signed:
    """The request's signature, parsed (no crypto yet)."""
    try:
        msg = parse_message(method, url, headers)
        return Signed(msg, _parse(msg))
    except SignatureError:
        raise
    except Exception as exc:  # garbage from a peer is a 401, never a 500
        log.warning("unexpected error while parsing a signature", exc_info=True)
        raise SignatureError("signature header could not be read") from exc


@functools.lru_cache(maxsize=4096)
def _public_key(pem: str) -> PublicKey:
    return load_public_key(pem)  # a SignatureError is raised again on every call (not cached)


def check(signed: Signed, body: bytes | None, public_key_pem: str, now: datetime | None = None) -> None:
    """Full check of a parsed signature against the owner's key."""
    try:
        key = _public_key(public_key_pem)
        if isinstance(signed.sig, rfc9421.Rfc9421Signature):
            rfc9421.verify(signed.msg, signed.sig, body, key, utc_now(now), MAX_SKEW)
        else:
            cavage.verify(signed.msg, signed.sig, body, key, utc_now(now), MAX_SKEW)
    except SignatureError:
        raise
    except Exception as exc:  # the inbox must answer 401, never 500, whatever a peer sends
        log.warning("unexpected error while verifying a signature", exc_info=True)
        raise SignatureError("signature could not be checked") from exc
