"""Serve anonymous GETs of public pages from the rendered-page cache (cleared on every committed write)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

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
            return web.Response(body=page.body, status=page.status, content_type=page.content_type,
                                headers=dict(page.headers))
        generation = cache.generation
        response = await handler(request)
        # Only store if no write landed while we rendered (else we might cache a stale page).
        if response.status == 200 and generation == cache.generation and isinstance(response.body, bytes):
            headers = {k: v for k, v in response.headers.items() if k in CACHEABLE_HEADERS}
            cache.put(key, response.body, response.content_type, response.status, headers)
        return response

    return wrapper
