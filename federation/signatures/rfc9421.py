"""RFC 9421 HTTP Message Signatures (what Fedify sends first, and Mastodon 4.4+ accepts)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import http_sf

from .base import Message, SignatureError, check_time, from_timestamp
from .cavage import needs_digest
from .digest import check_content_digest
from .keys import PublicKey, algorithms_for_key, verify_any, verify_signature

SCHEME = "rfc9421"

# Field names are lower-case tokens (RFC 9421 §2.1); derived components start with "@".
_NAME = re.compile(r"@?[a-z0-9!#$%&'*+.^_`|~-]+\Z")
_DERIVED = {"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"}
_ALGS = {"rsa-v1_5-sha256", "rsa-pss-sha512", "ed25519", "ecdsa-p256-sha256", "ecdsa-p384-sha384"}


@dataclass(frozen=True)
class Rfc9421Signature:
    label: str
    covered: tuple[str, ...]
    params_text: str  # the member value of Signature-Input exactly as received: the @signature-params line
    key_id: str
    alg: str | None
    created: int
    expires: int | None
    signature: bytes


def _parse_dict(header: str, value: str) -> dict:
    try:
        parsed = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
    except Exception as exc:  # http_sf raises assorted types on garbage; all of them mean "malformed"
        raise SignatureError(f"{header} header is malformed") from exc
    assert isinstance(parsed, dict)
    return parsed


def _raw_members(text: str) -> dict[str, str]:
    """Dictionary member values as written (the text is already known to be valid RFC 8941)."""
    members: dict[str, str] = {}
    start, depth, in_string, escaped = 0, 0, False, False
    for i, ch in enumerate(text + ","):
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "," and depth == 0:
            key, _, value = text[start:i].strip(" \t").partition("=")
            members[key] = value  # a repeated key: the last one wins, as in the parser
            start = i + 1
    return members


def _components(members: list) -> tuple[str, ...]:
    names: list[str] = []
    for name, params in members:
        if type(name) is not str or not _NAME.match(name):
            raise SignatureError(f"Signature-Input component {name!r} is not a lower-case field name")
        if params:
            flags = ", ".join(f";{p}" for p in params)
            raise SignatureError(f"component parameters ({flags} on {name}) are not supported")
        if name.startswith("@") and name not in _DERIVED:
            raise SignatureError(f"component {name} is not supported")
        if name in names:
            raise SignatureError(f"component {name} is listed twice")
        names.append(name)
    return tuple(names)


def parse(signature_input: str, signature: str) -> Rfc9421Signature:
    inputs = _parse_dict("Signature-Input", signature_input)
    values = _parse_dict("Signature", signature)
    label = next((name for name in inputs if name in values), None)
    if label is None:
        raise SignatureError("Signature-Input and Signature have no label in common")
    members, params = inputs[label]
    if not isinstance(members, list):
        raise SignatureError(f"Signature-Input {label} is not an inner list of components")
    raw = values[label][0]
    if not isinstance(raw, bytes):
        raise SignatureError(f"Signature {label} is not a byte sequence")
    key_id, alg, created = params.get("keyid"), params.get("alg"), params.get("created")
    if type(key_id) is not str or not key_id:
        raise SignatureError("Signature-Input has no keyid")
    if alg is not None and alg not in _ALGS:
        raise SignatureError(f"signature algorithm {alg!r} is not supported")
    if created is None:
        raise SignatureError("Signature-Input has no created parameter")
    from_timestamp("created", created)  # type check now, time check in verify
    expires = params.get("expires")
    if expires is not None:
        from_timestamp("expires", expires)
    return Rfc9421Signature(
        label=label,
        covered=_components(members),
        params_text=_raw_members(signature_input)[label],
        key_id=key_id,
        alg=alg,
        created=created,
        expires=expires,
        signature=raw,
    )


def component_value(msg: Message, name: str) -> str:
    derived = {
        "@method": msg.method,
        "@target-uri": msg.target_uri,
        "@authority": msg.authority,
        "@scheme": msg.scheme,
        "@request-target": msg.path_and_query,
        "@path": msg.path,
        "@query": f"?{msg.query or ''}",  # §2.2.7: an absent query is a lone "?"
    }
    if name in derived:
        return derived[name]
    value = msg.header(name)
    if value is None and name == "host":
        value = msg.authority
    if value is None:
        raise SignatureError(f"signed header {name} is missing from the request")
    return value


def signature_base(msg: Message, sig: Rfc9421Signature) -> str:
    """RFC 9421 §2.5: one line per covered component, then the @signature-params line (no final LF)."""
    lines = [f'"{name}": {component_value(msg, name)}' for name in sig.covered]
    lines.append(f'"@signature-params": {sig.params_text}')
    return "\n".join(lines)


def _check_policy(msg: Message, sig: Rfc9421Signature, body: bytes | None) -> None:
    covered = set(sig.covered)
    if "@method" not in covered:
        raise SignatureError("the signature must cover @method")
    if "@target-uri" not in covered and not ("@authority" in covered and covered & {"@path", "@request-target"}):
        raise SignatureError("the signature must cover @target-uri (or @authority and @path)")
    if needs_digest(msg.method, body) and "content-digest" not in covered:
        raise SignatureError("the signature must cover content-digest for a request with a body")


def verify(
    msg: Message, sig: Rfc9421Signature, body: bytes | None, key: PublicKey, now: datetime, max_skew: timedelta
) -> None:
    _check_policy(msg, sig, body)
    check_time("created", from_timestamp("created", sig.created), now, max_skew)
    if sig.expires is not None and from_timestamp("expires", sig.expires) < now:
        raise SignatureError("the signature has expired")
    if "content-digest" in sig.covered or needs_digest(msg.method, body):
        value = msg.header("content-digest")
        if value is None:
            raise SignatureError("Content-Digest header is missing")
        check_content_digest(value, body or b"")
    check_signature(msg, sig, key)


def check_signature(msg: Message, sig: Rfc9421Signature, key: PublicKey) -> None:
    """Only the cryptographic part; verify() adds the policy, clock and digest checks."""
    data = signature_base(msg, sig).encode("utf-8")
    if sig.alg:
        verify_signature(sig.alg, key, sig.signature, data, sig.key_id)
    else:
        verify_any(algorithms_for_key(key), key, sig.signature, data, sig.key_id)
