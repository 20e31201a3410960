"""Where a redirect may go after a form: only back into this site.

`next=` values come from the query string or a hidden field, i.e. from anyone who can send a link. Browsers
drop tabs, CR and LF inside URLs and treat `\\` like `/`, so `/%09/evil.example/` or `/\\evil.example` becomes
`//evil.example/` — a different site. We decode, refuse anything a browser could read as another origin, and
fall back to a safe default."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

DEFAULT = "/"
_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def safe_next(target: str | None, default: str = DEFAULT) -> str:
    """`target` if it is a same-origin path (like `/@ada/12?x=1#c`), else `default`."""
    if not target or len(target) > 2000:
        return default
    # Look at what a browser would see after (repeated) percent-decoding, but redirect to the original.
    seen, decoded = target, target
    for _ in range(3):
        decoded = unquote(seen)
        if decoded == seen:
            break
        seen = decoded
    for candidate in (target, decoded):
        if any(ch in _CONTROL for ch in candidate) or "\\" in candidate:
            return default
        if not candidate.startswith("/") or candidate.startswith("//"):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
    return target


def web_url(value: object) -> str:
    """The URL when it is an absolute http(s) address, else "" (templates then show no link).

    URLs in remote documents (an actor's `url`, a post's id, a job's apply link, an app's website) are written
    by strangers: `javascript:` or `data:` there must never become a clickable href."""
    if not isinstance(value, str) or not value or len(value) > 4000:
        return ""
    if any(ch in _CONTROL or ch.isspace() for ch in value) or "\\" in value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return value
