"""draft-cavage-http-signatures-12: what Mastodon and most of the fediverse send and expect."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from .base import Message, SignatureError, check_time, from_timestamp, parse_message, utc_now
from .digest import check_digest, digest_header
from .keys import PublicKey, algorithms_for_key, load_private_key, sign_bytes, verify_any

SCHEME = "draft-cavage"

# name="quoted" or name=bare (created/expires are bare integers), comma separated. The quoted part is the
# unrolled `[^"\\]*(?:\\.[^"\\]*)*` (same language as `(?:[^"\\]|\\.)*`): one alternation per character made
# the ~350-character signature value cost ~35 us per inbox request (of ~0.5 ms CPU in all).
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s",]*))\s*(?:,|$)')
# draft §2.1 algorithm names -> our algorithm names; None means "from the key" (hs2019).
_ALGORITHMS: dict[str, list[str] | None] = {
    "hs2019": None,
    "rsa-sha256": ["rsa-v1_5-sha256"],
    "rsa-sha512": ["rsa-v1_5-sha512"],
    "ed25519": ["ed25519"],
}


@dataclass(frozen=True)
class CavageSignature:
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    signature: str
    created: int | None
    expires: int | None


def _params(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    pos = 0
    while pos < len(text.rstrip()):
        match = _PARAM.match(text, pos)
        if not match or match.end() == pos:
            raise SignatureError("Signature header is malformed")
        name = match.group(1).lower()  # keyId is the documented spelling; some peers send keyid
        if name in params:
            raise SignatureError(f"Signature header repeats {match.group(1)}")
        quoted, bare = match.group(2), match.group(3)
        params[name] = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted is not None else bare
        pos = match.end()
    return params


def _int_param(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise SignatureError(f"Signature {name} must be an integer timestamp")
    return int(value)


def parse(text: str) -> CavageSignature:
    params = _params(text)
    for required in ("keyid", "signature"):
        if not params.get(required):
            raise SignatureError(f"Signature header has no {'keyId' if required == 'keyid' else required}")
    algorithm = params.get("algorithm")
    if algorithm is not None:
        algorithm = algorithm.lower()
        if algorithm not in _ALGORITHMS:
            raise SignatureError(f"signature algorithm {params['algorithm']!r} is not supported")
    covered = tuple(params.get("headers", "date").lower().split())  # draft §2.1.6 default
    if not covered:
        raise SignatureError("Signature header lists no signed headers")
    sig = CavageSignature(
        key_id=params["keyid"],
        algorithm=algorithm,
        covered=covered,
        signature=params["signature"],
        created=_int_param(params, "created"),
        expires=_int_param(params, "expires"),
    )
    for pseudo in ("(created)", "(expires)"):
        if pseudo in covered and algorithm not in (None, "hs2019"):
            raise SignatureError(f"{pseudo} may only be signed with hs2019, not {algorithm}")  # draft §2.3
        if pseudo in covered and getattr(sig, pseudo.strip("()")) is None:
            raise SignatureError(f"{pseudo} is signed but the {pseudo.strip('()')} parameter is missing")
    return sig


def signing_string(msg: Message, sig: CavageSignature) -> str:
    lines = []
    for name in sig.covered:
        if name == "(request-target)":
            value = f"{msg.method.lower()} {msg.path_and_query}"
        elif name in ("(created)", "(expires)"):
            value = str(getattr(sig, name.strip("()")))
        else:
            found = msg.header(name)
            if found is None and name == "host":
                found = msg.authority  # HTTP/2 carries :authority instead of Host
            if found is None:
                raise SignatureError(f"signed header {name} is missing from the request")
            value = found
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def _check_policy(msg: Message, sig: CavageSignature, body: bytes | None) -> None:
    """Refuse signatures too weak to mean anything (same rules Mastodon applies)."""
    if "(request-target)" not in sig.covered:
        raise SignatureError("the signature must cover (request-target)")
    if "date" not in sig.covered and "(created)" not in sig.covered:
        raise SignatureError("the signature must cover Date or (created)")
    if msg.method == "GET" and "host" not in sig.covered:
        raise SignatureError("the signature must cover Host for a GET request")
    if needs_digest(msg.method, body) and "digest" not in sig.covered:
        raise SignatureError("the signature must cover Digest for a request with a body")


def needs_digest(method: str, body: bytes | None) -> bool:
    return bool(body) or method in ("POST", "PUT", "PATCH")


def verify(
    msg: Message, sig: CavageSignature, body: bytes | None, key: PublicKey, now: datetime, max_skew: timedelta
) -> None:
    _check_policy(msg, sig, body)
    if "date" in sig.covered:
        date = msg.header("date")
        if date is None:
            raise SignatureError("signed header date is missing from the request")
        try:
            when = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError) as exc:
            raise SignatureError("Date header is not a valid HTTP date") from exc
        check_time("Date", utc_now(when), now, max_skew)
    if sig.created is not None:
        check_time("created", from_timestamp("created", sig.created), now, max_skew)
    if sig.expires is not None and from_timestamp("expires", sig.expires) < now:
        raise SignatureError("the signature has expired")
    if "digest" in sig.covered or needs_digest(msg.method, body):
        digest = msg.header("digest")
        if digest is None:
            raise SignatureError("Digest header is missing")
        check_digest(digest, body or b"")
    data = signing_string(msg, sig).encode("utf-8")
    try:
        raw = base64.b64decode(sig.signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not valid base64") from exc
    algs = _ALGORITHMS.get(sig.algorithm or "hs2019") or algorithms_for_key(key)
    verify_any(algs, key, raw, data, sig.key_id)


def sign_request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign (request-target) host date [digest]; returns the headers to add (fresh on every call).

    `headers` (the request's other headers) are not signed: peers only require these four, and every
    extra signed header is one more thing a proxy can break.
    """
    key = load_private_key(private_key_pem)
    msg = parse_message(method, url, {})
    new = {"Host": msg.authority, "Date": format_datetime(utc_now(now), usegmt=True)}
    covered = ["(request-target)", "host", "date"]
    if body is not None:
        new["Digest"] = digest_header(body)
        covered.append("digest")
    msg = parse_message(method, url, new)  # only the headers we set are signed
    sig = CavageSignature(key_id, None, tuple(covered), "", None, None)
    signature = base64.b64encode(sign_bytes(key, signing_string(msg, sig).encode("utf-8"))).decode("ascii")
    # Mastodon only understands the name rsa-sha256 for RSA; hs2019 is the draft's name for the rest.
    algorithm = "rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "hs2019"
    signed = " ".join(covered)
    new["Signature"] = f'keyId="{key_id}",algorithm="{algorithm}",headers="{signed}",signature="{signature}"'

    return new
