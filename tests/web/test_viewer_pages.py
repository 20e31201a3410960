"""Signed-in visitors get public pages from a cached skeleton with their own parts filled in (web/viewer_pages.py,
issue 15): each sees their own header, CSRF token and follow state, never someone else's; the artist's own view
is still rendered whole; a write to what the page shows drops the skeleton. Real HTTP through the whole app,
SQLite and PostgreSQL; a skeleton hit is a view that sends only the viewer's own statements (login session,
follow state)."""

from __future__ import annotations

import re

from sqlalchemy import event

from cara_fed.context import CONTEXT_KEY
from tests import images
from tests.conftest import CSRF_RE, sign_up
from tests.web.test_artworks import upload


class Statements:
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.seen: list[str] = []
        event.listen(client.server.app[CONTEXT_KEY].engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *rest: self.seen.append(statement))


async def view(client, path: str, statements: Statements | None = None) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    if statements:
        statements.seen.clear()
    response = await client.get(path)
    assert response.status == 200, path
    html = await response.text()
    assert "\x00" not in html, "an unfilled hole reached the page"
    return html, len(statements.seen) if statements else -1


def tokens(html: str) -> set[str]:
    return set(CSRF_RE.findall(html))


async def switch_to(client, username: str) -> str:  # type: ignore[no-untyped-def]
    """Sign up `username` on a fresh cookie jar; returns their CSRF token."""
    client.session.cookie_jar.clear()
    assert (await sign_up(client, username)).status == 303
    return await token_of(client)


async def token_of(client) -> str:  # type: ignore[no-untyped-def]
    return CSRF_RE.search(await (await client.get("/settings")).text()).group(1)  # type: ignore[union-attr]


async def test_each_visitor_gets_their_own_parts_in_a_shared_page(client):  # type: ignore[no-untyped-def]
    statements = Statements(client)
    await switch_to(client, "cyd")  # accounts first: creating one is a write that drops every cached page
    await switch_to(client, "bob")
    await switch_to(client, "ada")
    assert (await upload(client, [("a.jpg", images.jpeg(320, 240), "A heron")], title="Heron")).status == 303
    owner_view, _ = await view(client, "/@ada")
    assert "Edit profile" in owner_view and "Heron" in owner_view

    await sign_in(client, "bob")
    bob_token = await token_of(client)
    first, _ = await view(client, "/@ada", statements)
    again, cost = await view(client, "/@ada", statements)
    assert first == again
    assert cost <= 2, f"a skeleton hit should cost only bob's session and follow state, not {cost} statements"
    assert "Heron" in again and 'href="/@bob"' in again and "Log out" in again
    assert tokens(again) == {bob_token}  # the log-out, follow, mute and block forms all carry bob's token
    assert "Edit profile" not in again and "/interact?account=ada" not in again
    ada_id = re.search(r'action="/accounts/(\d+)/follow"', again).group(1)  # type: ignore[union-attr]

    await sign_in(client, "cyd")  # the skeleton bob's first view made serves cyd too, with cyd's parts
    cyd_token = await token_of(client)
    cyd_view, cost = await view(client, "/@ada", statements)
    assert cost <= 2
    assert 'href="/@cyd"' in cyd_view and 'href="/@bob"' not in cyd_view
    assert tokens(cyd_view) == {cyd_token} and cyd_token != bob_token

    await sign_in(client, "bob")
    bob_token = await token_of(client)
    follow = await client.post(f"/accounts/{ada_id}/follow", data={"csrf_token": bob_token}, allow_redirects=False)
    assert follow.status in (302, 303)
    await view(client, "/@ada")  # the follow dropped ada's pages: this view makes the skeleton again
    followed, cost = await view(client, "/@ada", statements)  # and this one fills it with bob's follow state
    assert cost <= 2
    assert "Unfollow" in followed and f'action="/accounts/{ada_id}/follow"' not in followed

    await sign_in(client, "cyd")
    cyd_view, _ = await view(client, "/@ada")
    assert f'action="/accounts/{ada_id}/follow"' in cyd_view and "Unfollow" not in cyd_view

    client.session.cookie_jar.clear()
    anonymous, _ = await view(client, "/@ada")
    assert "Log out" not in anonymous and "Log in" in anonymous and "/interact?account=ada" in anonymous


async def test_a_write_to_the_artist_drops_the_skeleton_and_the_owner_sees_their_own_page(client):  # type: ignore[no-untyped-def]
    await switch_to(client, "bob")
    await switch_to(client, "ada")
    assert (await upload(client, [("a.jpg", images.jpeg(320, 240), "A heron")], title="Heron")).status == 303
    await sign_in(client, "bob")
    before, _ = await view(client, "/@ada")
    assert "Heron" in before and "Crane" not in before
    home, _ = await view(client, "/")
    assert 'href="/@bob"' in home and "Upload a work" in home and "Heron" in home

    await sign_in(client, "ada")
    assert (await upload(client, [("b.jpg", images.jpeg(320, 240), "A crane")], title="Crane")).status == 303
    owner_view, _ = await view(client, "/@ada")
    assert "Edit profile" in owner_view and 'href="/@bob"' not in owner_view

    await sign_in(client, "bob")
    after, _ = await view(client, "/@ada")
    assert "Crane" in after and "Heron" in after and 'href="/@bob"' in after
    home, _ = await view(client, "/")
    assert "Crane" in home and 'href="/@bob"' in home


async def test_an_artwork_page_is_shared_by_visitors_with_their_own_marks_comments_and_blocks(client):  # type: ignore[no-untyped-def]
    """The artwork page of a public work is kept without its visitor's parts: each signed-in visitor gets their own
    like/boost/save buttons and their own reply and delete forms in the thread, and a block still hides it."""
    statements = Statements(client)
    await switch_to(client, "cyd")
    await switch_to(client, "bob")
    await switch_to(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(320, 240), "A heron")], title="Heron")).headers["Location"]
    work_id = location.rsplit("/", 1)[1]
    path = f"/@ada/{work_id}"
    owner_view, _ = await view(client, path)
    assert "owner-tools" in owner_view and "Report</a>" not in owner_view

    await sign_in(client, "bob")
    bob_token = await token_of(client)
    first, _ = await view(client, path, statements)
    again, cost = await view(client, path, statements)
    assert first == again
    assert cost <= 3, f"a kept artwork page costs bob's session, his marks (and any block) and the thread, not {cost}"
    assert "Heron" in again and 'href="/@bob"' in again and tokens(again) == {bob_token}
    assert f'action="/artworks/{work_id}/like"' in again and "Report</a>" in again
    assert "owner-tools" not in again and 'id="interact-dialog"' not in again  # neither the owner's nor a stranger's
    liked = await client.post(f"/artworks/{work_id}/like", data={"csrf_token": bob_token}, allow_redirects=False)
    assert liked.status == 303
    said = await client.post(f"/artworks/{work_id}/comments", data={"csrf_token": bob_token, "content": "Lovely"},
                             allow_redirects=False)
    assert said.status == 303
    await view(client, path)  # the like and the comment dropped ada's pages: this view keeps the page again
    bob_view, cost = await view(client, path, statements)
    assert cost <= 3
    assert f'action="/artworks/{work_id}/unlike"' in bob_view and "Lovely" in bob_view
    bob_deletes = re.findall(r'action="(/comments/\d+/delete)"', bob_view)
    assert bob_deletes, bob_view  # bob may delete his own comment

    await sign_in(client, "cyd")
    cyd_token = await token_of(client)
    cyd_view, cost = await view(client, path, statements)
    assert cost <= 3 and tokens(cyd_view) == {cyd_token} and 'href="/@cyd"' in cyd_view
    assert f'action="/artworks/{work_id}/like"' in cyd_view and f'action="/artworks/{work_id}/unlike"' not in cyd_view
    assert "Lovely" in cyd_view and not set(bob_deletes) & set(re.findall(r'action="(/comments/\d+/delete)"', cyd_view))

    await sign_in(client, "ada")  # ada blocks cyd; bob's next view keeps the page again; cyd still gets nothing
    ada_token = await token_of(client)
    cyd_id = re.search(r'action="/accounts/(\d+)/block"', (await view(client, "/@cyd"))[0]).group(1)  # type: ignore[union-attr]
    blocked = await client.post(f"/accounts/{cyd_id}/block", data={"csrf_token": ada_token}, allow_redirects=False)
    assert blocked.status == 303
    await sign_in(client, "bob")
    await view(client, path)
    await sign_in(client, "cyd")
    assert (await client.get(path)).status == 404


async def sign_in(client, username: str, password: str = "correct horse 1") -> None:  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    page = await (await client.get("/login")).text()
    token = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    response = await client.post("/login", data={"csrf_token": token, "login": username, "password": password},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
