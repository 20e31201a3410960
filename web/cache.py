"""Serve anonymous GETs of public pages from the rendered-page cache, and let browsers and shared caches keep
them as long as we do ([cache] page_seconds): the answer varies with the session cookie, so a signed-in visitor
never gets a cached anonymous page.

A handler names what its page shows with `tag_response(request, ...)` (`account_tag(id)` of the artist,
`LISTINGS` for pages listing works across accounts); a committed write drops the pages with the tags it names,
and every untagged page (cara_fed/cache.py). A write that names nothing empties the cache.

Misses are single-flight: when many anonymous requests for one uncached page arrive together (link-preview
fetchers right after a work is published, everyone after a write dropped the page), one renders and the
others wait for its page instead of rendering it again each (issue 15, preview stampede)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from cara_fed.cache import RESPONSE_TAGS, CachedPage, PageCache
from cara_fed.context import CONTEXT_KEY
from web.conditional import add_vary
from web.keys import ACCOUNT, SESSION_COOKIE

PageHandler = Callable[[web.Request], Awaitable[web.Response]]
CACHEABLE_HEADERS = ("X-Robots-Tag", "tdm-reservation", "Link", "Vary")


def cached_page(handler: PageHandler) -> PageHandler:
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.Response:
        if request.method != "GET" or request.get(ACCOUNT) is not None or SESSION_COOKIE in request.cookies:
            return await handler(request)
        cache = request.app[CONTEXT_KEY].cache
        if cache.ttl <= 0:  # caching off ([cache] page_seconds = 0): every request renders
            return await handler(request)
        key = page_key(request)
        page = cache.get(key)
        if page is None:
            page, response = await _single_flight(cache, key, handler, request)
            if response is not None:
                return _shareable(response, cache.ttl)
        assert page is not None
        return _shareable(web.Response(body=page.body, status=page.status, content_type=page.content_type,
                                       headers=dict(page.headers)), cache.ttl)

    return wrapper


def page_key(request: web.Request) -> str:
    return f"{request.headers.get('Accept', '')[:40]}|{request.path_qs}"


def answerable(request: web.Request) -> bool:
    """An anonymous GET whose page is in the cache now, or being rendered by another request it will wait for
    (single-flight): answering it costs about what a 503 would, so back-pressure lets it through
    (web/backpressure.py) and a preview stampede gets pages, not 503s."""
    if request.method != "GET" or SESSION_COOKIE in request.cookies:
        return False
    cache, key = request.app[CONTEXT_KEY].cache, page_key(request)
    return cache.get(key) is not None or (id(cache), key, cache.key_version(key)) in _flights


# Renders in progress, per cache (one per web process), page key and the key's version (the clock of the latest
# write that dropped the tags its page had when last rendered; any write, for a page never rendered): the clock
# when the render began and the page it produced, or None when it failed or was not a 200 (waiters then render
# for themselves). A request joins only a render that began since the latest write to what the page shows, so
# whatever it gets is at least as fresh as the moment it arrived, even when such a write lands during the render
# (that page is then shared with those waiters but not stored).
_flights: dict[tuple[int, str, int], tuple[int, asyncio.Future[CachedPage | None]]] = {}


async def _single_flight(cache: PageCache, key: str, handler: PageHandler,
                         request: web.Request) -> tuple[CachedPage, None] | tuple[None, web.Response]:
    """(page, None) when another request's render gave us the page; (None, response) when this request
    rendered it."""
    known = cache.tags_of(key)
    flight = (id(cache), key, cache.version(known))
    leader = _flights.get(flight)
    if leader is not None:
        began, future = leader
        page = await asyncio.shield(future)
        # No write to the tags the key was known by landed between the render's start and our arrival (the
        # flight's version would differ); if the page came out with other tags, a write to them may have.
        if page is not None and (known is None or page.tags == known or not cache.changed_since(began, page.tags)):
            return page, None
        return None, await _render(request, handler)
    began = cache.clock
    future: asyncio.Future[CachedPage | None] = asyncio.get_running_loop().create_future()
    _flights[flight] = (began, future)
    page = None
    try:
        response = await _render(request, handler)
        if response.status == 200 and isinstance(response.body, bytes):
            headers = {k: v for k, v in response.headers.items() if k in CACHEABLE_HEADERS}
            tags = frozenset(request[RESPONSE_TAGS])
            page = CachedPage(response.body, response.content_type, response.status, tuple(headers.items()), 0.0,
                              tags)
            # Stored only if no write to what it shows landed while we rendered.
            cache.put(key, response.body, response.content_type, response.status, headers, tags, since=began)
        return None, response
    finally:
        del _flights[flight]
        future.set_result(page)


async def _render(request: web.Request, handler: PageHandler) -> web.Response:
    request[RESPONSE_TAGS] = set()
    return await handler(request)


def _shareable(response: web.Response, ttl: int) -> web.Response:
    if response.status != 200 or ttl <= 0 or "Cache-Control" in response.headers:
        return response
    response.headers["Cache-Control"] = f"public, max-age={ttl}"
    add_vary(response, "Cookie")
    return response
