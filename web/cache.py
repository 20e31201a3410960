"""Serve anonymous GETs of public pages from the rendered-page cache (cleared on every committed write), and
let browsers and shared caches keep them as long as we do ([cache] page_seconds): the answer varies with the
session cookie, so a signed-in visitor never gets a cached anonymous page."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from web.conditional import add_vary
from web.keys import ACCOUNT, CTX, SESSION_COOKIE

PageHandler = Callable[[web.Request], Awaitable[web.Response]]
CACHEABLE_HEADERS = ("X-Robots-Tag", "tdm-reservation", "Link", "Vary")


def cached_page(handler: PageHandler) -> PageHandler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.Response:
        if request.method != "GET" or request.get(ACCOUNT) is not None or SESSION_COOKIE in request.cookies:
            return await handler(request)
        cache = request.app[CTX].cache
        key = f"{request.headers.get('Accept', '')[:40]}|{request.path_qs}"
        page = cache.get(key)
        if page is not None:
            return _shareable(web.Response(body=page.body, status=page.status, content_type=page.content_type,
                                           headers=dict(page.headers)), cache.ttl)
        generation = cache.generation
        response = await handler(request)
        # Only store if no write landed while we rendered (else we might cache a stale page).
        if response.status == 200 and generation == cache.generation and isinstance(response.body, bytes):
            headers = {k: v for k, v in response.headers.items() if k in CACHEABLE_HEADERS}
            cache.put(key, response.body, response.content_type, response.status, headers)
        return _shareable(response, cache.ttl)

    return wrapper


def _shareable(response: web.Response, ttl: int) -> web.Response:
    if response.status != 200 or ttl <= 0 or "Cache-Control" in response.headers:
        return response
    response.headers["Cache-Control"] = f"public, max-age={ttl}"
    add_vary(response, "Cookie")
    return response
