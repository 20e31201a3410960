"""Shared pieces of HTTP signature handling: the error, the result, and a parsed view of a request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class SignatureError(Exception):
    """Any reason to refuse a signed request. `reason` is plain words, safe to put in a 401 body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedRequestInfo:
    key_id: str
    scheme: str  # "draft-cavage" | "rfc9421"
    covered: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    """The parts of a request that signatures talk about, normalised once."""

    method: str  # upper case, as sent on the wire
    target_uri: str
    scheme: str
    authority: str  # lower-case host, default port omitted (RFC 9421 §2.2.3)
    path: str  # raw (still percent-encoded), "/" when empty
    query: str | None  # raw, without "?"; None when the URL has no "?"
    headers: dict[str, str]  # lower-case name -> field lines joined with ", "

    @property
    def path_and_query(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Case-insensitive view. Repeated fields (multidicts yield every pair from items()) are combined
    the way RFC 9110 §5.3 and RFC 9421 §2.1 combine them."""
    lines: dict[str, list[str]] = {}
    for name, value in headers.items():
        # Outer whitespace is not part of a field value (RFC 9421 §2.1).
        lines.setdefault(str(name).lower(), []).append(str(value).strip())
    return {name: ", ".join(values) for name, values in lines.items()}


def parse_message(method: str, url: str, headers: Mapping[str, str]) -> Message:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a garbage port
    except ValueError as exc:
        raise SignatureError(f"request URL {url!r} is not valid") from exc
    scheme = parts.scheme.lower()
    if not scheme or not parts.hostname:
        raise SignatureError(f"request URL {url!r} is not absolute")
    host = parts.hostname  # already lower-cased by urlsplit
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal keeps its brackets in an authority
    authority = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return Message(
        method=method.upper(),
        target_uri=url.split("#", 1)[0],
        scheme=scheme,
        authority=authority,
        path=parts.path or "/",
        query=parts.query if "?" in url.split("#", 1)[0] else None,
        headers=lower_headers(headers),
    )


def utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    # A naive clock is taken as UTC; an aware one is converted (HTTP dates are always GMT).
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def describe(delta: timedelta) -> str:
    """'2 hours', '1.5 hours', '30 minutes' - for reasons people read."""
    seconds = abs(delta.total_seconds())
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            text = f"{seconds / size:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}" + ("" if text == "1" else "s")
    return "0 seconds"


def check_time(label: str, when: datetime, now: datetime, max_skew: timedelta) -> None:
    if abs(now - when) > max_skew:
        raise SignatureError(f"{label} is {describe(now - when)} off; allowed skew is {describe(max_skew)}")


def from_timestamp(label: str, value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignatureError(f"{label} must be an integer timestamp")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError(f"{label} is not a usable timestamp") from exc
