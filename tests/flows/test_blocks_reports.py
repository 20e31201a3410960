"""Blocks and reports between two cara-fed instances on loopback (real HTTP, real workers): an artist on A
blocks a user on B, whose follow ends and cannot start again, and who no longer sees A's followers-only works
although another follower on B does; a report on B about A's artwork reaches A's moderators as a Flag."""

from __future__ import annotations

import re

import pytest

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = pytest.mark.flow


@pytest.fixture
def two_instances(tmp_path):  # type: ignore[no-untyped-def]
    with running_instance(tmp_path / "a") as a, running_instance(tmp_path / "b") as b:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        a.cli("createuser", "mod", "--email", "mod@a.example", "--password", "mod password", "--admin")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        b.cli("createuser", "dan", "--email", "dan@b.example", "--password", "dan password")
        yield a, b


async def follow_remote(user: Browserless, handle: str) -> tuple[str, str]:
    """Look up a handle, follow it, wait for the Accept; returns (profile path, account id) on the user's server."""
    async with user.http.get(f"{user.base}/follow", params={"handle": handle}, allow_redirects=False) as found:
        assert found.status == 303, await found.text()
        profile = found.headers["Location"]
    _, page = await user.get(profile)
    account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
    await user.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

    async def accepted():  # type: ignore[no-untyped-def]
        return "Unfollow" in (await user.get(profile))[1]
    await eventually(accepted, what=f"{handle} accepting the follow")
    return profile, account_id


async def test_block_across_instances_and_a_flag_to_the_moderators(two_instances):
    a, b = two_instances
    alice, mod, bob, dan = Browserless(a.url), Browserless(a.url), Browserless(b.url), Browserless(b.url)
    try:
        await alice.login("alice", "alice password")
        await mod.login("mod", "mod password")
        await bob.login("bob", "bob password")
        await dan.login("dan", "dan password")
        handle = f"@alice@127.0.0.1:{a.port}"
        # Search resolves a handle on another server (WebFinger) and lists that artist.
        status, found = await bob.get("/search", params={"q": handle})
        assert status == 200 and f'href="/@alice@127.0.0.1:{a.port}"' in found
        alice_on_b, alice_id = await follow_remote(bob, handle)
        await follow_remote(dan, handle)

        await alice.upload("Sketch for followers", [("one.jpg", images.jpeg(800, 600), "A pencil sketch")],
                           visibility="followers")

        async def arrived():  # type: ignore[no-untyped-def]
            _, html = await bob.get("/feed")
            return "Sketch for followers" in html and html
        feed = await eventually(arrived, what="the followers-only work reaching Bob on B")
        first_work = re.search(r'href="(/@alice@[^"/]+/(\d+))"', feed)

        # Bob reports it on B: B's instance actor sends a Flag to A, which lands in A's reports queue.
        report = {"reason": "Looks traced", "artwork": first_work.group(2), "forward": "on"}
        sent = await bob.post(f"/accounts/{alice_id}/report", report, token_from=alice_on_b)
        assert sent.status == 200

        async def flagged():  # type: ignore[no-untyped-def]
            _, html = await mod.get("/admin/reports")
            return "Looks traced" in html and html
        queue = await eventually(flagged, what="the Flag reaching A's moderators")
        assert "Sketch for followers" in queue and f"from 127.0.0.1:{b.port}" in queue
        assert "bob" not in queue  # the reporter's name does not travel

        # Alice blocks Bob (from his profile on A): B hears the Block and ends Bob's follow.
        async with alice.http.get(f"{a.url}/follow", params={"handle": f"@bob@127.0.0.1:{b.port}"},
                                  allow_redirects=False) as found:
            bob_on_a = found.headers["Location"]
        _, page = await alice.get(bob_on_a)
        bob_id = re.search(r"/accounts/(\d+)/block", page).group(1)
        assert (await alice.post(f"/accounts/{bob_id}/block", {}, token_from=bob_on_a)).status == 303

        async def follow_ended():  # type: ignore[no-untyped-def]
            _, html = await bob.get(alice_on_b)
            return "Unfollow" not in html
        await eventually(follow_ended, what="the Block reaching B and ending Bob's follow")
        refused = await bob.post(f"/accounts/{alice_id}/follow", {}, token_from="/feed")
        assert refused.status == 403
        async with alice.http.get(f"{a.url}/users/alice/followers",
                                  headers={"Accept": "application/activity+json"}) as response:
            assert (await response.json())["totalItems"] == 1  # Dan only

        # A new followers-only work still goes to B (Dan follows), but Bob cannot see it there.
        await alice.upload("After the block", [("two.jpg", images.jpeg(800, 600), "An ink drawing")],
                           visibility="followers")

        async def reached_dan():  # type: ignore[no-untyped-def]
            _, html = await dan.get("/feed")
            return "After the block" in html and html
        dan_feed = await eventually(reached_dan, what="the new work reaching Dan on B")
        [new_path] = set(re.findall(r'href="(/@alice@[^"/]+/\d+)"', dan_feed)) - {first_work.group(1)}
        assert (await dan.get(new_path))[0] == 200
        _, bob_feed = await bob.get("/feed")
        assert "After the block" not in bob_feed and "Sketch for followers" not in bob_feed
        assert (await bob.get(new_path))[0] == 404 and (await bob.get(first_work.group(1)))[0] == 404
    finally:
        for user in (alice, mod, bob, dan):
            await user.close()
