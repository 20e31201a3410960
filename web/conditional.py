"""Validators for everything we render: a weak ETag on each 200 GET answer built in memory (pages, AP
documents, API JSON), and 304 Not Modified when the client already holds it. Revalidating browsers, feed
readers and federating servers then pay a hash instead of a download; a rendered page still costs its render
(the page cache spares that for anonymous visitors)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from cara_fed.http_headers import add_vary as add_vary_header

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a 304 must repeat from the 200 it stands for (RFC 9110 15.4.5), plus our NoAI signals.
KEPT_ON_304 = ("Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "X-Robots-Tag",
               "tdm-reservation", "Link")


def add_vary(response: web.StreamResponse, name: str) -> None:
    """Name a request header the answer depends on, in the one Vary header (cara_fed/http_headers.py)."""
    add_vary_header(response.headers, name)


def weak_etag(body: bytes) -> str:
    # Weak: the same content may go out gzip-compressed or not (web/static_assets.compress).
    return f'W/"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison: W/ prefixes do not count (RFC 9110 13.1.2)."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))


@web.middleware
async def conditional_get(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if (request.method not in ("GET", "HEAD") or type(response) is not web.Response or response.status != 200
            or not isinstance(response.body, bytes) or response.cookies):
        return response
    etag = response.headers.get("ETag")
    if etag is None:
        etag = weak_etag(response.body)
        response.headers["ETag"] = etag
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and matches(if_none_match, etag):
        return web.Response(status=304, headers={k: v for k, v in response.headers.items() if k in KEPT_ON_304})
    return response
