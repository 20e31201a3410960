"""Targeted page-cache invalidation (issue 15, caching for a surge): a cached page names what it shows
(`account:<id>`, `listings`) and a write names what it changed, so a remote Like on one artist's work leaves
every other artist's cached pages alone. Real HTTP through the whole app: the remote server is a signing peer
on loopback, its activities go through the real inbox (jobs inline). A cache hit is a request that sends no
SQL statement to the database (as in test_page_stampede.py); SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import aiohttp
from sqlalchemy import event, update
from sqlalchemy.util.concurrency import await_only, in_greenlet

from cara_fed import db_rows, queries
from cara_fed.cache import LISTINGS, PageCache, account_tag
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork
from federation.discovery import resolver
from tests import images
from tests.conftest import sign_up
from tests.federation.peer import signed_post
from tests.web.test_artworks import upload


class Anonymous:
    """An anonymous visitor that counts the SQL statements each of its page views cost (0: a cache hit)."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.statements: list[str] = []
        # Run inside the next page view, at its first statement sent from SQLAlchemy's greenlet: the view waits
        # there until it is done (a write that commits while a page renders, deterministically). Reused reads go
        # straight to the driver, outside any greenlet (cara_fed/db_rows.py), so `view` forgets their plans first:
        # each statement's next run goes through Core again.
        self.during_render: Callable[[], Awaitable[None]] | None = None

        def seen(conn, cursor, statement, *rest) -> None:  # type: ignore[no-untyped-def]
            self.statements.append(statement)
            if self.during_render is not None and in_greenlet():
                during, self.during_render = self.during_render, None
                await_only(during())

        event.listen(client.server.app[CONTEXT_KEY].engine.sync_engine, "before_cursor_execute", seen)

    async def view(self, path: str) -> tuple[str, int]:
        """(html, statements it cost)"""
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            self.statements.clear()
            if self.during_render is not None:
                db_rows._PLANS.plans.clear()
                db_rows._PLANS.seen.clear()
            async with http.get(self.client.make_url(path), headers={"Accept": "text/html"}) as response:
                assert response.status == 200, path
                html = await response.text()
            return html, len(self.statements)


async def artist_with_work(client, username: str, title: str) -> str:  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    assert (await sign_up(client, username)).status == 303
    response = await upload(client, [("a.jpg", images.jpeg(320, 240), "alt")], title=title)
    assert response.status == 303, await response.text()
    client.session.cookie_jar.clear()
    return response.headers["Location"]


def likes(html: str) -> int:
    found = re.search(r'class="count like-count">(\d+)<', html)
    assert found, "no like count on the page"
    return int(found.group(1))


async def test_a_remote_like_drops_only_the_pages_of_the_liked_works_artist(app_client, peer):  # type: ignore[no-untyped-def]
    ctx = app_client.server.app[CONTEXT_KEY]
    ada_work = await artist_with_work(app_client, "ada", "Heron")
    bob_work = await artist_with_work(app_client, "bob", "Crane")
    alice = peer.add_actor("alice")
    await resolver.fetch_actor(ctx, alice.id)  # a known peer (storing a new actor clears everything)
    visitor = Anonymous(app_client)

    async def like(path: str) -> None:
        activity = peer.activity(alice, "Like", ctx.url(path))
        response = await signed_post(app_client, ctx.url("/inbox"), activity, key=alice)
        assert response.status == 202, await response.text()

    for path in ("/@ada", ada_work, "/@bob", bob_work, "/"):
        _, cost = await visitor.view(path)
        assert cost > 0  # rendered
        _, cost = await visitor.view(path)
        assert cost == 0  # and now served from the cache

    await like(bob_work)
    for path in ("/@ada", ada_work, "/"):  # nothing of ada's changed, and cards show no counts
        _, cost = await visitor.view(path)
        assert cost == 0, path
    html, cost = await visitor.view(bob_work)
    assert cost > 0 and likes(html) == 1
    assert (await visitor.view("/@bob"))[1] > 0  # bob's pages were dropped (and are cached again now)

    await like(ada_work)
    _, cost = await visitor.view("/@ada")
    assert cost > 0  # re-rendered
    html, cost = await visitor.view(ada_work)
    assert cost > 0 and likes(html) == 1
    _, cost = await visitor.view("/@bob")
    assert cost == 0  # bob's portfolio stays cached


async def test_publishing_drops_the_listings_and_an_untagged_write_clears_all(app_client):  # type: ignore[no-untyped-def]
    bob_work = await artist_with_work(app_client, "bob", "Crane")
    assert (await sign_up(app_client, "ada")).status == 303  # and stays signed in
    visitor = Anonymous(app_client)  # its own session: anonymous
    pages = ("/", "/about", "/jobs", "/tags/ink", "/@bob", bob_work)
    for path in pages:
        await visitor.view(path)
        assert (await visitor.view(path))[1] == 0

    # ada publishes a public work: a write that names no tags (it changes who may open its files, too).
    response = await upload(app_client, [("b.jpg", images.jpeg(320, 240), "alt")], title="Egret")
    assert response.status == 303

    for path in pages:  # every page was dropped, the listings and bob's pages alike
        html, cost = await visitor.view(path)
        assert cost > 0, path
        if path in ("/", "/tags/ink"):
            assert "Egret" in html


async def test_a_write_to_what_a_page_shows_during_its_render_keeps_it_out_of_the_cache(app_client):  # type: ignore[no-untyped-def]
    ctx = app_client.server.app[CONTEXT_KEY]
    ada_work = await artist_with_work(app_client, "ada", "Night ferry")
    await artist_with_work(app_client, "bob", "Crane")
    visitor = Anonymous(app_client)
    async with ctx.sessions() as session:
        work = await session.get(Artwork, int(ada_work.rsplit("/", 1)[1]))
        ada_id = work.account_id
        bob_id = (await queries.local_account(session, "bob")).id

    async def write(account_id: int, title: str) -> None:
        async with ctx.transaction() as tx:
            tx.touches(account_id)
            await tx.session.execute(update(Artwork).where(Artwork.id == work.id).values(title=title))

    async def write_during_render(account_id: int, title: str) -> None:
        """The write commits after the render of ada's page has begun and sent a statement, before it ends: the
        render waits at that statement for the write (Anonymous.during_render)."""
        ctx.cache.clear()
        committed: list[bool] = []

        async def during() -> None:
            await write(account_id, title)
            committed.append(True)

        visitor.during_render = during
        await visitor.view(ada_work)
        assert committed, "the render sent no statement the write could wait at"

    # A write naming bob while ada's page renders: her page is stored all the same.
    await write_during_render(bob_id, "Night ferry")
    assert (await visitor.view(ada_work))[1] == 0

    # A write naming ada while her page renders: whatever that render saw, it is not kept.
    await write_during_render(ada_id, "Morning ferry")
    html, cost = await visitor.view(ada_work)
    assert cost > 0 and "Morning ferry" in html


def test_a_page_is_stored_unless_a_write_to_its_tags_landed_since_its_render_began() -> None:
    cache = PageCache(60)
    began = cache.clock
    cache.invalidate([account_tag(2)])
    assert cache.put("ada", b"a", "text/html", 200, {}, [account_tag(1)], since=began)
    assert not cache.put("bob", b"b", "text/html", 200, {}, [account_tag(2)], since=began)
    assert not cache.put("untagged", b"u", "text/html", 200, {}, [], since=began)  # any write drops those
    assert cache.get("ada") is not None and cache.get("bob") is None
    generation = cache.generation
    cache.invalidate([account_tag(1), LISTINGS])
    assert cache.get("ada") is None and cache.generation == generation  # tagged drops keep the generation
    assert cache.put("home", b"h", "text/html", 200, {}, [LISTINGS], since=cache.clock)
    cache.invalidate([])  # naming nothing: everything goes, and the other caches start over
    assert cache.get("home") is None and cache.generation == generation + 1


def test_a_full_cache_evicts_the_least_recently_used_page():
    """A surge over more pages than the cache holds keeps the popular ones (it used to empty itself whole)."""
    cache = PageCache(60, max_entries=3)
    for key in ("popular", "b", "c"):
        assert cache.put(key, key.encode(), "text/html", 200, {}, [account_tag(1)])
    assert cache.get("popular") is not None  # read: now the most recently used
    assert cache.put("d", b"d", "text/html", 200, {}, [account_tag(2)])  # full: "b", the coldest, goes
    assert [key for key in ("popular", "b", "c", "d") if cache.get(key) is not None] == ["popular", "c", "d"]
    cache.invalidate([account_tag(1)])  # the evicted page's tag entry went with it; the rest still drop
    assert [key for key in ("popular", "c", "d") if cache.get(key) is not None] == ["d"]
