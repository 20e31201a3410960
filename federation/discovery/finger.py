"""WebFinger client (RFC 7033): the JRD a host serves for a resource.

`/.well-known/webfinger` first; when that is missing (404, not JSON), the lrdd template of the host's
`/.well-known/host-meta` (RFC 6415) says where WebFinger lives instead (servers that delegate it). Every GET
goes through federation.discovery.net: SSRF guard, byte cap, one deadline per chain.
"""

from __future__ import annotations

import asyncio
import html
import re
from urllib.parse import quote

from cara_fed import json_limits
from cara_fed.context import Context
from federation.discovery.net import FetchError, fetch

JRD_ACCEPT = "application/jrd+json, application/json"
JRD_TYPES = ("application/jrd+json", "application/json")
XRD_TYPES = ("application/xrd+xml", "application/xml", "text/xml")
MAX_JRD_BYTES = 256 * 1024
MAX_XRD_BYTES = 64 * 1024
_LINK = re.compile(r"<Link\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'([A-Za-z:_-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
FALLBACK_CODES = {"http_status", "bad_type", "bad_document"}  # the host answered, just not at the usual place


def scheme(ctx: Context) -> str:
    # Loopback tests (allow_private_addresses) run over plain http; the real fediverse is https only.
    return ctx.config.server.scheme if ctx.config.federation.allow_private_addresses else "https"


def _parse(body: bytes, where: str) -> dict:
    try:
        doc = json_limits.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise FetchError("bad_document", f"{where[:200]} is not JSON") from None
    if not isinstance(doc, dict):
        raise FetchError("bad_document", f"{where[:200]} is not a JSON object")
    return doc


async def _get_jrd(ctx: Context, url: str, timeout: float) -> dict:  # noqa: ASYNC109 (one deadline per chain)
    result = await fetch(ctx, url, accept=JRD_ACCEPT, types=JRD_TYPES, max_bytes=MAX_JRD_BYTES, timeout=timeout)
    return _parse(result.body, url)


def lrdd_template(xrd: str) -> str | None:
    """The `template` of host-meta's `<Link rel="lrdd">` (regex over a capped body: no XML entities expanded)."""
    for match in _LINK.finditer(xrd):
        attrs = {m.group(1).lower(): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
                 for m in _ATTR.finditer(match.group(1))}
        if attrs.get("rel") == "lrdd" and "{uri}" in attrs.get("template", ""):
            return attrs["template"]
    return None


async def finger(ctx: Context, host: str, resource: str, *, timeout: float = 10) -> dict:  # noqa: ASYNC109
    """The JRD `host` serves for `resource` (e.g. acct:name@host), within `timeout` seconds in all. Raises
    FetchError (code bad_document for an answer that is not a JSON object)."""
    try:
        async with asyncio.timeout(timeout):
            return await _finger(ctx, host, resource, timeout)
    except TimeoutError:
        raise FetchError("timeout", f"{host[:100]} did not answer within {timeout:g} s") from None


async def _finger(ctx: Context, host: str, resource: str, timeout: float) -> dict:  # noqa: ASYNC109
    base = f"{scheme(ctx)}://{host}"
    standard = f"{base}/.well-known/webfinger?resource={quote(resource, safe=':@')}"
    try:
        return await _get_jrd(ctx, standard, timeout)
    except FetchError as exc:
        if exc.code not in FALLBACK_CODES:
            raise
        first = exc
    try:
        meta = await fetch(ctx, f"{base}/.well-known/host-meta", accept=", ".join(XRD_TYPES), types=XRD_TYPES,
                           max_bytes=MAX_XRD_BYTES, timeout=timeout)
    except FetchError:
        raise first from None
    template = lrdd_template(meta.body.decode("utf-8", "replace"))
    if not template:
        raise first
    url = template.replace("{uri}", quote(resource, safe=""))
    if url == standard:
        raise first
    return await _get_jrd(ctx, url, timeout)


def links(jrd: dict) -> list[dict]:
    """The JRD's link objects (anything malformed skipped)."""
    found = jrd.get("links")
    return [link for link in found if isinstance(link, dict) and isinstance(link.get("rel"), str)] \
        if isinstance(found, list) else []
