"""Back-pressure over real HTTP: with the process at [server] max_inflight_requests, pages and API calls get
503 + Retry-After at once, while inbox POSTs are still accepted into durable rows and /livez answers."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import InboxItem
from cara_fed_run.app import create_app
from tests.federation.peer import running_peer, signed_post

LIMIT = 3


@pytest.fixture
def busy_client(config, aiohttp_client):  # type: ignore[no-untyped-def]
    """Makes the real app with a small in-flight cap and one test-only route, registered here, that holds each
    request until the test opens the gate (a slow page without sleeping on luck)."""

    async def make(wait_ms: int = 50):  # type: ignore[no-untyped-def]
        config.server.max_inflight_requests = LIMIT
        config.server.inflight_wait_ms = wait_ms
        config.federation.allow_private_addresses = True  # the signing peer is on loopback
        app = create_app(config, jobs="inline", migrate=True)
        gate, full, entered = asyncio.Event(), asyncio.Event(), []

        async def slow(request: web.Request) -> web.Response:
            entered.append(request.path)
            if len(entered) >= LIMIT:
                full.set()
            await gate.wait()
            return web.Response(text="finally")

        app.router.add_get("/test-only/slow", slow)
        client = await aiohttp_client(app)
        client.gate, client.full, client.entered = gate, full, entered  # type: ignore[attr-defined]
        return client

    return make


async def _all_slots_taken(client) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(10):
        await client.full.wait()


async def test_over_the_limit_pages_get_503_at_once_and_the_inbox_still_accepts(busy_client):
    client = await busy_client()
    held = [asyncio.create_task(client.get("/test-only/slow")) for _ in range(LIMIT)]
    await _all_slots_taken(client)

    page = await client.get("/")
    assert page.status == 503 and page.headers["Retry-After"] == "2"
    assert page.content_type == "text/html" and "busy" in await page.text()
    assert page.headers["X-Request-Id"]  # still observed: access log, metrics
    api = await client.get("/api/v1/instance")
    assert api.status == 503 and api.headers["Retry-After"] == "2"
    assert "busy" in (await api.json())["error"]
    one_more_slow = await client.get("/test-only/slow")
    assert one_more_slow.status == 503
    assert not any(task.done() for task in held)  # answered while every slot was still taken: no queueing

    live = await client.get("/livez")
    assert live.status == 200
    assert (await client.get("/api/v1/streaming/health")).status == 200  # long-lived streams hold no slot
    ctx = client.app[CONTEXT_KEY]
    async with running_peer() as peer:
        carol = peer.add_actor("carol")
        like = peer.activity(carol, "Like", ctx.url("/@nobody/1"))
        accepted = await signed_post(client, ctx.url("/inbox"), like, key=carol)
        assert accepted.status == 202, await accepted.text()
    async with ctx.sessions() as session:
        stored = (await session.scalars(select(InboxItem.activity_id))).all()
    assert stored == [like["id"]]

    client.gate.set()
    for response in await asyncio.gather(*held):
        assert response.status == 200 and await response.text() == "finally"
    assert (await client.get("/")).status == 200  # slots are given back


async def test_a_request_over_the_limit_waits_up_to_the_bound_for_a_freed_slot(busy_client):
    client = await busy_client(wait_ms=30_000)
    held = [asyncio.create_task(client.get("/test-only/slow")) for _ in range(LIMIT)]
    await _all_slots_taken(client)
    waiting = asyncio.create_task(client.get("/api/v1/instance"))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # within its wait bound: queued, not refused
    client.gate.set()
    assert (await waiting).status == 200  # a slot freed up in time
    assert [response.status for response in await asyncio.gather(*held)] == [200] * LIMIT
