"""Back-pressure: past the knee, a web process answers at once instead of queueing.

aiohttp accepts every connection and runs every request concurrently, so under a surge each request waits
behind all the others (database pool, CPU) and latency grows without bound until clients time out. This
middleware caps the requests one process handles at once (`[server] max_inflight_requests`); a request over the
cap waits at most `[server] inflight_wait_ms` for a slot, then gets 503 with `Retry-After` and a small static
body, costing almost nothing. Never turned away: inbox POSTs (the inbox stores each activity in a durable row
and answers 202; the workers process the backlog later, so a surge of federation traffic loses nothing) and the
operator endpoints /livez, /readyz and /metrics (a load balancer must see the process alive, and busy), nor
anonymous page views the page cache holds (web/cache.py: as cheap as the 503, and a link-preview stampede
must get pages). The streaming API is not counted either: its connections stay open for hours and would hold
slots forever (they cost a socket and a share of one poller, not request work).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from cara_fed import metrics, urls
from web import cache

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATOR_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
STREAMING = "/api/v1/streaming"
RETRY_AFTER = "2"  # seconds: a surge's peak passes quickly, and clients spread their retries
MESSAGE = "This server is very busy right now. Please try again in a few seconds."
_HTML = (f"<!doctype html><meta charset=utf-8><title>Busy</title><p>{MESSAGE}</p>\n").encode()
_JSON = json.dumps({"error": MESSAGE}).encode()
_HEADERS = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}


def exempt(request: web.Request) -> bool:
    """Inbox deliveries, the operator endpoints and streaming connections always get through."""
    path = request.path
    if path in OPERATOR_PATHS or path.startswith(STREAMING):
        return True
    return request.method == "POST" and urls.is_inbox(path)


def busy(request: web.Request) -> web.Response:
    """The 503 itself: a prepared body, no template, no database."""
    if request.path.startswith(("/api/", "/oauth/")) or "json" in request.headers.get("Accept", ""):
        return web.Response(status=503, body=_JSON, content_type="application/json", headers=_HEADERS)
    return web.Response(status=503, body=_HTML, content_type="text/html", headers=_HEADERS)


class InflightLimit:
    """At most `limit` holders at once; a newcomer waits up to `wait` seconds for a slot."""

    def __init__(self, limit: int, wait: float):
        self.limit, self.wait = limit, wait
        self._slots = asyncio.Semaphore(limit)

    async def acquire(self) -> bool:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot: returns without yielding
            return True
        if self.wait <= 0:
            return False
        try:
            async with asyncio.timeout(self.wait):
                await self._slots.acquire()
        except TimeoutError:
            return False
        return True

    def release(self) -> None:
        self._slots.release()


def middleware(limit: int, wait_ms: int) -> Callable[..., Awaitable[web.StreamResponse]] | None:
    """The middleware for `[server] max_inflight_requests` / `inflight_wait_ms`; None when the limit is 0 (off)."""
    if limit <= 0:
        return None
    slots = InflightLimit(limit, wait_ms / 1000)

    @web.middleware
    async def backpressure(request: web.Request, handler: Handler) -> web.StreamResponse:
        if exempt(request) or cache.answerable(request):
            return await handler(request)
        if not await slots.acquire():
            if cache.answerable(request):  # rendered while it waited (a stampede's first render): serve it
                return await handler(request)
            metrics.REQUESTS_SHED.inc()
            return busy(request)
        try:
            return await handler(request)
        finally:
            slots.release()

    return backpressure
