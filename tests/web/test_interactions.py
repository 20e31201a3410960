"""Likes, boosts, saves and comments over HTTP: like/unlike, boost/unboost, save, comments and replies, the
comment setting, the comment rate limit, notifications with the unread badge and mark-as-read — on SQLite and
PostgreSQL."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Boost, Comment, Follow, Like, Notification
from cara_fed.queries import local_account
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload


async def second_browser(client: TestClient, aiohttp_client, username: str) -> TestClient:  # type: ignore[no-untyped-def]
    """Another person on the same instance (own cookie jar), signed up."""
    other = await aiohttp_client(client.server)
    response = await sign_up(other, username)
    assert response.status == 303, await response.text()
    return other


async def artist_with_work(client: TestClient) -> str:
    await sign_up(client, "ada")
    response = await upload(client, [("a.jpg", images.jpeg(800, 600), "A ferry at night")])
    assert response.status == 303
    return response.headers["Location"]


async def act(who: TestClient, path: str, action: str, **data: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(who, path)
    artwork_id = path.rsplit("/", 1)[1]
    return await who.post(f"/artworks/{artwork_id}/{action}", data={"csrf_token": token, **data},
                          allow_redirects=False)


def count_in(html: str, name: str) -> int:
    match = re.search(rf'class="(?:count )?{name}-count">(\d+)<', html)
    assert match, f"no {name} count on the page"
    return int(match.group(1))


async def rows(ctx, model, **where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return await session.scalar(query) or 0


async def queries_follow(ctx, follower_id: int, followee_id: int) -> str | None:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Follow.state).where(Follow.follower_id == follower_id,
                                                               Follow.followee_id == followee_id))


async def test_like_boost_save_and_undo_with_counts_and_notifications(client, ctx, aiohttp_client):
    work = await artist_with_work(client)
    bob = await second_browser(client, aiohttp_client, "bob")

    liked = await act(bob, work, "like")
    assert liked.status == 303 and liked.headers["Location"] == f"{work}#social"
    assert (await act(bob, work, "like")).status == 303  # a second click changes nothing
    await act(bob, work, "boost")
    await act(bob, work, "bookmark")
    page = await (await bob.get(work)).text()
    assert count_in(page, "like") == 1 and count_in(page, "boost") == 1
    assert "Liked" in page and "Boosted" in page and "Saved" in page
    assert await rows(ctx, Like) == 1 and await rows(ctx, Boost) == 1
    saved = await (await bob.get("/bookmarks")).text()
    assert "Night ferry" in saved

    # The artist sees both, with the unread badge in the navigation.
    notes = await (await client.get("/notifications")).text()
    assert "liked" in notes and "boosted" in notes and notes.count("Night ferry") >= 2
    assert '<span class="unread-count">2</span>' in notes
    assert re.search(r'class="badge-count"><span class="sr-only">\(</span>2<', notes)

    # Undo each: counts go back, and the unread notifications go with them.
    await act(bob, work, "unlike")
    await act(bob, work, "unboost")
    await act(bob, work, "unbookmark")
    page = await (await bob.get(work)).text()
    assert count_in(page, "like") == 0 and count_in(page, "boost") == 0
    assert "Night ferry" not in await (await bob.get("/bookmarks")).text()
    assert await rows(ctx, Notification, kind="like") == 0
    anonymous = await (await aiohttp_client(client.server)).get(work)
    assert count_in(await anonymous.text(), "like") == 0


async def test_comments_replies_mentions_and_hashtags(client, ctx, aiohttp_client):
    work = await artist_with_work(client)
    bob = await second_browser(client, aiohttp_client, "bob")
    await second_browser(client, aiohttp_client, "cleo")

    posted = await act(bob, work, "comments", content="Lovely <b>ink</b>, @cleo look!\n#Harbour")
    assert posted.status == 303 and re.search(r"#comment-\d+$", posted.headers["Location"])
    async with ctx.sessions() as session:
        comment = await session.scalar(select(Comment))
    assert re.fullmatch(rf"http://test\.example/comments/{comment.id}-[0-9a-f]{{8}}", comment.uri)
    shown = await bob.get(comment.uri.removeprefix("http://test.example"), allow_redirects=False)
    assert shown.status == 303 and shown.headers["Location"] == f"{work}#comment-{comment.id}"
    assert "&lt;b&gt;ink&lt;/b&gt;" in comment.content_html  # text stays text
    assert 'href="http://test.example/@cleo" class="u-url mention"' in comment.content_html
    assert 'href="http://test.example/tags/harbour"' in comment.content_html and comment.tags == ["harbour"]

    reply = await act(client, work, "comments", content="Thank you!", parent_id=str(comment.id))
    assert reply.status == 303
    page = await (await client.get(work)).text()
    assert count_in(page, "comment") == 2
    assert f'id="comment-{comment.id}"' in page and 'class="comment depth-1"' in page

    bob_notes = await (await bob.get("/notifications")).text()
    assert "replied to your comment on" in bob_notes
    ada_notes = await (await client.get("/notifications")).text()
    assert "commented on" in ada_notes and "Lovely" in ada_notes
    async with ctx.sessions() as session:
        kinds = sorted((await session.scalars(select(Notification.kind))).all())
    assert kinds == ["comment", "mention", "reply"]

    # Following a notification marks it read and leads to the comment.
    note_id = re.search(r'href="/notifications/(\d+)"', ada_notes).group(1)
    opened = await client.get(f"/notifications/{note_id}", allow_redirects=False)
    assert opened.status == 303 and opened.headers["Location"] == f"{work}#comment-{comment.id}"

    # A reply to a comment of another artwork, an empty comment: clear 4xx, nothing stored.
    empty = await act(bob, work, "comments", content="   ")
    assert empty.status == 400 and "Write something first" in await empty.text()
    bad_parent = await act(bob, work, "comments", content="hi", parent_id="999999")
    assert bad_parent.status == 404
    assert await rows(ctx, Comment) == 2

    # Only the author or the artist may remove a comment.
    cleo = await aiohttp_client(client.server)
    await cleo.post("/login", data={"csrf_token": await csrf_from(cleo, "/login"), "login": "cleo",
                                    "password": "correct horse 1"})
    token = await csrf_from(cleo, work)
    refused = await cleo.post(f"/comments/{comment.id}/delete", data={"csrf_token": token})
    assert refused.status == 403
    token = await csrf_from(client, work)
    removed = await client.post(f"/comments/{comment.id}/delete", data={"csrf_token": token}, allow_redirects=False)
    assert removed.status == 303
    assert await rows(ctx, Comment) == 0  # the reply under it went too


async def test_comment_setting_followers_only_and_off(client, ctx, aiohttp_client):
    work = await artist_with_work(client)
    bob = await second_browser(client, aiohttp_client, "bob")
    set_off = await act(client, work, "comment-policy", comment_policy="off")
    assert set_off.status == 303
    refused = await act(bob, work, "comments", content="Hello")
    assert refused.status == 403 and "turned comments off" in await refused.text()
    page = await (await bob.get(work)).text()
    assert "Comments are off for this artwork." in page and 'name="content"' not in page

    await act(client, work, "comment-policy", comment_policy="followers")
    refused = await act(bob, work, "comments", content="Hello")
    assert refused.status == 403 and "Only the artist" in await refused.text()
    async with ctx.sessions() as session:
        ada, bob_account = await local_account(session, "ada"), await local_account(session, "bob")
    await bob.post(f"/accounts/{ada.id}/follow", data={"csrf_token": await csrf_from(bob, work)})
    assert await queries_follow(ctx, bob_account.id, ada.id) == "accepted"
    assert (await act(bob, work, "comments", content="Hello")).status == 303
    assert "followed you" in await (await client.get("/notifications")).text()

    bad = await act(client, work, "comment-policy", comment_policy="friends")
    assert bad.status == 400 and "Choose everyone, followers or off" in await bad.text()
    not_owner = await act(bob, work, "comment-policy", comment_policy="everyone")
    assert not_owner.status == 404


async def test_comment_spam_over_the_rate_limit_gets_429(client, ctx, aiohttp_client):
    ctx_limit = client.server.app  # the app's own config object decides

    ctx_limit[CONTEXT_KEY].config.security.comments_per_hour = 3
    work = await artist_with_work(client)
    bob = await second_browser(client, aiohttp_client, "bob")
    for number in range(3):
        assert (await act(bob, work, "comments", content=f"Nice {number}")).status == 303
    spam = await act(bob, work, "comments", content="Nice again")
    text = await spam.text()
    assert spam.status == 429 and "3 per hour" in text and int(spam.headers["Retry-After"]) > 0
    assert await rows(ctx, Comment) == 3


async def test_notifications_pages_and_mark_read(client, ctx, aiohttp_client):

    await sign_up(client, "ada")
    app_ctx = client.server.app[CONTEXT_KEY]
    from cara_fed.services.notifications import notify

    async with app_ctx.sessions() as session:
        ada = await local_account(session, "ada")
    async with app_ctx.transaction(changes_pages=False) as tx:
        for _ in range(45):
            notify(tx, ada, "follow", actor=ada, object_type="follow", object_id=1)
    first = await (await client.get("/notifications")).text()
    assert first.count('class="unread kind-follow"') == 40
    older = re.search(r'href="/notifications\?before=(\d+)"', first)
    assert older
    second = await (await client.get(f"/notifications?before={older.group(1)}")).text()
    assert second.count('kind-follow"') == 5 and "Older notifications" not in second
    assert '<span class="unread-count">45</span>' in first
    bad = await client.get("/notifications?before=abc")
    assert bad.status == 400

    async with app_ctx.sessions() as session:
        ids = (await session.scalars(select(Notification.id).order_by(Notification.id).limit(2))).all()
    token = await csrf_from(client, "/notifications")
    await client.post("/notifications/read", data=[("csrf_token", token), *[("ids", str(i)) for i in ids]])
    assert '<span class="unread-count">43</span>' in await (await client.get("/notifications")).text()
    await client.post("/notifications/read", data={"csrf_token": token})
    page = await (await client.get("/notifications")).text()
    assert '<span class="unread-count">0</span>' in page and "badge-count" not in page


async def test_notifications_page_query_count_does_not_grow_with_the_page(ctx):
    """Keyset page + one narrow query per kind of object: 5 or 40 notifications cost the same statements."""
    from sqlalchemy import event

    from cara_fed import queries_social
    from cara_fed.models import Artwork
    from cara_fed.services import accounts
    from cara_fed.services.notifications import notify

    async with ctx.transaction() as tx:
        ada = await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123", bypass_registration=True)
        fans = [await accounts.create_account(ctx, tx, f"fan{n}", f"fan{n}@example.org", "password123",
                                              bypass_registration=True) for n in range(4)]
    async with ctx.transaction() as tx:
        works = [Artwork(account_id=ada.id, title=f"Work {n}", state="published") for n in range(10)]
        tx.session.add_all(works)
        await tx.session.flush()
        notes = [Comment(artwork_id=w.id, account_id=fans[0].id, content_html=f"<p>c{w.id}</p>") for w in works]
        tx.session.add_all(notes)
        await tx.session.flush()
        for n in range(40):
            fan = fans[n % 4]
            if n % 2:
                notify(tx, ada, "like", actor=fan, object_type="artwork", object_id=works[n % 10].id)
            else:
                notify(tx, ada, "comment", actor=fan, object_type="comment", object_id=notes[n % 10].id)

    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", record)
    try:
        counted = []
        for limit in (5, 40):
            statements.clear()
            async with ctx.sessions() as session:
                page = await queries_social.notifications(session, ada, limit=limit)
            assert len(page.items) == limit
            for item in page.items:  # everything a row shows was loaded
                artwork_id = page.comments[item.object_id].artwork_id if item.kind == "comment" else item.object_id
                assert page.titles[artwork_id].startswith("Work ") and item.actor.username.startswith("fan")
            counted.append(len(statements))
    finally:
        event.remove(ctx.engine.sync_engine, "before_cursor_execute", record)
    assert counted[0] == counted[1], counted
    assert counted[1] <= 6, statements
