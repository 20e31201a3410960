"""A preview stampede (issue 15): many anonymous fetches of one page that is not cached yet (a work just
published, link-preview fetchers of every server its post reached) cost one render, not one each. Counted by
the SQL statements the database receives, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from sqlalchemy import event, update

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork
from tests import images
from tests.conftest import sign_up
from tests.web.test_artworks import upload

FETCHERS = 40
AGENTS = ["Mastodon/4.3.0 (http.rb/5.2.0; +https://mastodon.example/)", "Pleroma 2.7; https://pleroma.example",
          "Misskey/2024.11 (https://misskey.example)", "facebookexternalhit/1.1", "Slackbot-LinkExpanding 1.0"]


async def test_concurrent_misses_for_one_page_render_it_once(client):  # type: ignore[no-untyped-def]
    await sign_up(client, "ada")
    response = await upload(client, [("a.jpg", images.jpeg(800, 600), "A ferry at night")])
    assert response.status == 303
    page_url = client.make_url(response.headers["Location"])
    ctx = client.server.app[CONTEXT_KEY]
    statements: list[str] = []
    event.listen(ctx.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))

    async def fetch(http: aiohttp.ClientSession, n: int) -> tuple[int, bytes]:
        async with http.get(page_url, headers={"User-Agent": AGENTS[n % len(AGENTS)], "Accept": "text/html"}) as r:
            return r.status, await r.read()

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:  # anonymous
        ctx.cache.clear()
        alone = await fetch(http, 0)
        one_render = len(statements)
        ctx.cache.clear()  # as a write does: the next fetches all miss together
        statements.clear()
        answers = await asyncio.gather(*(fetch(http, n) for n in range(FETCHERS)))
        after_stampede = len(statements)
        async with http.get(page_url, headers={"Accept": "text/html"}) as cached:  # and now it is cached
            assert cached.status == 200 and "public, max-age=" in cached.headers["Cache-Control"]

    assert alone[0] == 200 and one_render > 0
    assert all(status == 200 for status, _ in answers)
    assert {body for _, body in answers} == {alone[1]}
    # One render's statements, not FETCHERS renders' (without single-flight: dozens of times as many).
    assert len(statements) <= one_render, (len(statements), one_render)
    assert len(statements) == after_stampede  # the cached answer needed no query


async def test_a_stampede_for_a_missing_page_is_404_for_everyone(client):  # type: ignore[no-untyped-def]
    await sign_up(client, "ada")
    client.session.cookie_jar.clear()
    answers = await asyncio.gather(*(client.get("/@ada/999999") for _ in range(20)))
    assert [response.status for response in answers] == [404] * 20


async def test_a_write_during_the_render_gives_later_visitors_a_fresh_page(client):  # type: ignore[no-untyped-def]
    await sign_up(client, "ada")
    response = await upload(client, [("a.jpg", images.jpeg(800, 600), "A ferry at night")], title="Night ferry")
    location = response.headers["Location"]
    page_url = client.make_url(location)
    ctx = client.server.app[CONTEXT_KEY]
    statements: list[str] = []
    event.listen(ctx.engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: statements.append(statement))

    async def fetch(http: aiohttp.ClientSession) -> str:
        async with http.get(page_url, headers={"Accept": "text/html"}) as r:
            assert r.status == 200
            return await r.text()

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        await fetch(http)
        one_render = len(statements)
        ctx.cache.clear()
        statements.clear()
        before = [asyncio.create_task(fetch(http)) for _ in range(FETCHERS)]
        await asyncio.sleep(0)
        async with ctx.transaction() as tx:  # a committed write (it empties the cache, as every write does)
            await tx.session.execute(update(Artwork).where(Artwork.id == int(location.rsplit("/", 1)[1]))
                                     .values(title="Morning ferry"))
        after = await asyncio.gather(*(fetch(http) for _ in range(FETCHERS)))
        earlier = await asyncio.gather(*before)

    assert all("Morning ferry" in html for html in after)  # nobody who came after the write sees the old title
    assert all("Night ferry" in html or "Morning ferry" in html for html in earlier)
    # At most one render before the write and one after (plus the write's own statement).
    assert len(statements) <= 2 * one_render + 1, (len(statements), one_render)


async def test_back_pressure_lets_cached_pages_through_and_sheds_the_rest(config, aiohttp_client):  # type: ignore[no-untyped-def]
    """With every in-flight slot taken, an anonymous view of a cached page is still answered (it costs what the
    503 would); an uncached page and a signed-in view get the 503."""
    from cara_fed_run.app import create_app

    config.server.max_inflight_requests, config.server.inflight_wait_ms = 1, 50
    app = create_app(config, jobs="inline", migrate=True)
    gate, entered = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:  # holds the only slot until the test opens the gate
        entered.set()
        await gate.wait()
        return web.Response(text="finally")

    app.router.add_get("/test-only/slow", slow)
    client = await aiohttp_client(app)
    assert (await sign_up(client, "ada")).status == 303
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as anonymous:
        async with anonymous.get(client.make_url("/@ada")) as first:  # renders and fills the cache
            assert first.status == 200
        held = asyncio.create_task(anonymous.get(client.make_url("/test-only/slow")))
        await asyncio.wait_for(entered.wait(), 10)
        async with anonymous.get(client.make_url("/@ada")) as cached:
            assert cached.status == 200 and "public, max-age=" in cached.headers["Cache-Control"]
        async with anonymous.get(client.make_url("/about")) as uncached:
            assert uncached.status == 503 and uncached.headers["Retry-After"]
        signed_in = await client.get("/@ada")  # ada's own session: never the anonymous copy
        assert signed_in.status == 503
        gate.set()
        assert (await held).status == 200
