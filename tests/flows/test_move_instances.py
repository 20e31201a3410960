"""An artist moves between two cara-fed instances (issue 18), and a follower on a third instance moves along:
three `cara-fed serve` processes on loopback, each with its own database and worker, over real HTTP."""

from __future__ import annotations

import re

import pytest

from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = pytest.mark.flow
AP = {"Accept": "application/activity+json"}


async def _actor(user: Browserless, url: str) -> dict:
    async with user.http.get(url, headers=AP) as response:
        assert response.status == 200, url
        return await response.json(content_type=None)


async def _followers(user: Browserless, url: str) -> int:
    return (await _actor(user, url))["totalItems"]


async def test_artist_moves_to_another_instance_and_followers_follow(tmp_path):
    with running_instance(tmp_path / "a") as a, running_instance(tmp_path / "b") as b, \
            running_instance(tmp_path / "c") as c:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        b.cli("createuser", "alina", "--email", "alina@b.example", "--password", "alina password")
        c.cli("createuser", "carol", "--email", "carol@c.example", "--password", "carol password")
        c.cli("createuser", "dan", "--email", "dan@c.example", "--password", "dan password")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        alice, alina, carol = Browserless(a.url), Browserless(b.url), Browserless(c.url)
        dan, bob = Browserless(c.url), Browserless(b.url)
        users = (alice, alina, carol, dan, bob)
        try:
            await alice.login("alice", "alice password")
            await alina.login("alina", "alina password")
            await carol.login("carol", "carol password")
            await dan.login("dan", "dan password")
            await bob.login("bob", "bob password")
            old_handle, new_handle = f"@alice@127.0.0.1:{a.port}", f"@alina@127.0.0.1:{b.port}"

            # Three followers on two other instances: Carol and Dan on C, Bob on B (where Alice is moving).
            for follower, home in ((carol, c), (dan, c), (bob, b)):
                old_profile = await _follow(follower, home.url, old_handle)
            await eventually(lambda: _count_is(alice, f"{a.url}/users/alice/followers", 3),
                             what="the three follows reaching A")
            old_profile = await _follow(carol, c.url, old_handle)  # already following: just the profile path

            # Without the alias on B, A refuses the move and says why; nothing changes.
            refused = await alice.post("/settings/move", {"target": new_handle, "password": "alice password"},
                                       token_from="/settings/move")
            assert refused.status == 400
            assert "does not list" in await refused.text() and "alsoKnownAs" in await refused.text()
            assert "movedTo" not in await _actor(alice, f"{a.url}/users/alice")
            wrong = await alice.post("/settings/move", {"target": new_handle, "password": "not it"},
                                     token_from="/settings/move")
            assert wrong.status == 400 and "password is not right" in await wrong.text()

            # Alina on B names the old account; B's actor publishes it.
            added = await alina.post("/settings/aliases", {"alias": old_handle}, token_from="/settings/move")
            assert added.status == 303, await added.text()
            assert (await _actor(alina, f"{b.url}/users/alina"))["alsoKnownAs"] == [f"{a.url}/users/alice"]

            moved = await alice.post("/settings/move", {"target": new_handle, "password": "alice password"},
                                     token_from="/settings/move")
            assert moved.status == 303, await moved.text()
            assert (await _actor(alice, f"{a.url}/users/alice"))["movedTo"] == f"{b.url}/users/alina"

            # C and B got the Move: all three now follow Alina on B, and no longer Alice on A.
            await eventually(lambda: _count_is(alina, f"{b.url}/users/alina/followers", 3),
                             what="the three new follows of Alina on B")
            await eventually(lambda: _count_is(alice, f"{a.url}/users/alice/followers", 0),
                             what="the old follows ending on A")

            # The old portfolio says where the artist went, on A and on C's copy of the profile.
            status, portfolio = await alice.get("/@alice")
            assert status == 200 and "This artist has moved to" in portfolio
            assert f'href="http://127.0.0.1:{b.port}/@alina"' in portfolio
            status, copy = await carol.get(old_profile)
            assert status == 200 and "has moved to" in copy and "@alina@127.0.0.1" in copy
            # A second move inside 30 days is refused.
            again = await alice.post("/settings/move", {"target": new_handle, "password": "alice password"},
                                     token_from="/settings/move")
            assert again.status == 400 and "can move again" in await again.text()
        finally:
            for user in users:
                await user.close()


async def _count_is(user: Browserless, url: str, expected: int) -> bool:
    return await _followers(user, url) == expected


async def _follow(user: Browserless, home: str, handle: str) -> str:
    """`user` follows `handle` from their instance `home`; returns the profile path there."""
    async with user.http.get(f"{home}/follow", params={"handle": handle}, allow_redirects=False) as found:
        assert found.status == 303, await found.text()
        profile = found.headers["Location"]
    _, page = await user.get(profile)
    if match := re.search(r"/accounts/(\d+)/follow", page):
        await user.post(f"/accounts/{match.group(1)}/follow", {}, token_from=profile)
    return profile
