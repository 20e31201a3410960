"""Following local artists, follow requests for locked accounts, and the home feed."""

import re

from sqlalchemy import select

from cara_fed.models import Account, Follow
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload


async def account_id(ctx, name: str) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return (await session.scalar(select(Account).where(Account.username == name))).id


async def login(client, name: str, password: str = "correct horse 1"):  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    response = await client.post("/login", data={"csrf_token": token, "login": name, "password": password},
                                 allow_redirects=False)
    assert response.status == 303


async def test_follow_a_local_artist_and_see_their_work_in_the_feed(client, ctx):
    await sign_up(client, "ada")
    await upload(client, [("a.jpg", images.jpeg(), "a ferry")], title="Ferry", visibility="followers")
    client.session.cookie_jar.clear()
    await sign_up(client, "bob")
    feed = await (await client.get("/feed")).text()
    assert "Ferry" not in feed and "Follow artists" in feed
    token = await csrf_from(client, "/feed")
    ada = await account_id(ctx, "ada")
    response = await client.post(f"/accounts/{ada}/follow", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/@ada"
    feed = await (await client.get("/feed")).text()
    assert "Ferry" in feed  # followers-only work, visible to an accepted follower in the feed
    work_path = re.search(r'href="(/@ada/\d+)"', feed).group(1)
    assert (await client.get(work_path)).status == 200
    await client.post(f"/accounts/{ada}/unfollow", data={"csrf_token": token})
    assert "Ferry" not in await (await client.get("/feed")).text()
    assert (await client.get(work_path)).status == 404


async def test_locked_account_approves_requests(client, ctx):
    await sign_up(client, "ada")
    async with ctx.transaction() as tx:
        (await tx.session.scalar(select(Account).where(Account.username == "ada"))).locked = True
    client.session.cookie_jar.clear()
    await sign_up(client, "bob")
    token = await csrf_from(client, "/feed")
    await client.post(f"/accounts/{await account_id(ctx, 'ada')}/follow", data={"csrf_token": token})
    async with ctx.sessions() as session:
        assert (await session.scalar(select(Follow))).state == "requested"
    await login(client, "ada")
    page = await (await client.get("/follow-requests")).text()
    assert "@bob" in page
    follow_id = re.search(r"/follow-requests/(\d+)/approve", page).group(1)
    token = await csrf_from(client, "/follow-requests")
    await client.post(f"/follow-requests/{follow_id}/approve", data={"csrf_token": token})
    async with ctx.sessions() as session:
        assert (await session.scalar(select(Follow))).state == "accepted"
    assert "No one is waiting" in await (await client.get("/follow-requests")).text()


async def test_remote_lookup_gives_clear_errors(client):
    await sign_up(client, "ada")
    bad = await client.get("/follow", params={"handle": "not a handle"})
    assert bad.status == 400 and "Enter a handle like @name@example.social." in await bad.text()
    local = await client.get("/follow", params={"handle": "@ada@test.example"}, allow_redirects=False)
    assert local.status == 303 and local.headers["Location"] == "/@ada"
    assert (await client.get("/@nobody@elsewhere.example")).status == 404
