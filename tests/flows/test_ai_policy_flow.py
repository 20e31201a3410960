"""AI-provenance policy across instances, each a real `cara-fed serve` with its own database and worker:
a local AI-marked upload on A is held, A's moderator releases it and it publishes; it then reaches B (inbound
policy "label": shown labelled) and C (inbound policy "reject": kept out of sight, in C's review queue)."""

from __future__ import annotations

import re

import pytest

from tests.flows.users import Browserless, eventually
from tests.instance import Instance, running_instance
from tests.web.test_review import generated_png

pytestmark = pytest.mark.flow


async def follow(user: Browserless, origin: Instance, name: str) -> str:
    """Follow @name@origin from the user's instance; returns the remote profile path there."""
    async with user.http.get(f"{user.base}/follow", params={"handle": f"@{name}@127.0.0.1:{origin.port}"},
                             allow_redirects=False) as found:
        assert found.status == 303, await found.text()
        profile = found.headers["Location"]
    _, page = await user.get(profile)
    account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
    await user.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

    async def accepted():  # type: ignore[no-untyped-def]
        return "Unfollow" in (await user.get(profile))[1]
    await eventually(accepted, what=f"the follow of {name} being accepted")
    return profile


async def test_held_here_released_then_labelled_or_rejected_elsewhere(tmp_path):
    with running_instance(tmp_path / "a", settings={"CARA_FED__DETECTION__LOCAL_POLICY": "hold"}) as a, \
            running_instance(tmp_path / "b", settings={"CARA_FED__DETECTION__INBOUND_POLICY": "label"}) as b, \
            running_instance(tmp_path / "c", settings={"CARA_FED__DETECTION__INBOUND_POLICY": "reject"}) as c:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        a.cli("createuser", "boss", "--email", "boss@a.example", "--password", "boss password", "--admin")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        c.cli("createuser", "cleo", "--email", "cleo@c.example", "--password", "cleo password")
        c.cli("createuser", "cmod", "--email", "cmod@c.example", "--password", "cmod password", "--admin")
        alice, boss, bob, cleo, cmod = (Browserless(a.url), Browserless(a.url), Browserless(b.url),
                                        Browserless(c.url), Browserless(c.url))
        try:
            await alice.login("alice", "alice password")
            await boss.login("boss", "boss password")
            await bob.login("bob", "bob password")
            await cleo.login("cleo", "cleo password")
            await cmod.login("cmod", "cmod password")
            await follow(bob, a, "alice")
            await follow(cleo, a, "alice")

            # On A the upload is held: its own page says so, visitors get 404, the moderator sees it.
            location = await alice.upload("Dusk light", [("gen.png", generated_png(), "A lighthouse at dusk")])

            async def held():  # type: ignore[no-untyped-def]
                return "held for review" in (await alice.get(location))[1]
            await eventually(held, what="A holding the AI-marked upload")
            async with _Visitor(a.url) as visitor:
                assert (await visitor.get(location))[0] == 404
            _, queue = await boss.get("/admin/review")
            case = re.search(r'href="(/admin/review/\d+)"', queue).group(1)
            assert "Dusk light" in queue
            released = await boss.post(case, {"action": "label_ai_generated", "note": "release with label"},
                                       token_from=case)
            assert released.status == 303
            status, page = await alice.get(location)
            assert status == 200 and "AI-generated" in page

            # B (inbound "label"): the work arrives and is shown with the label.
            async def on_b():  # type: ignore[no-untyped-def]
                _, feed = await bob.get("/feed")
                return "Dusk light" in feed and "/media/" in feed and feed
            feed = await eventually(on_b, what="the released work reaching B")
            remote_path = re.search(r'href="(/@alice@[^"/]+/\d+)"', feed).group(1)
            _, remote_page = await bob.get(remote_path)
            assert "AI-generated" in remote_page

            # C (inbound "reject"): it arrives but is kept out of the feed, and C's moderators can review it.
            async def in_c_queue():  # type: ignore[no-untyped-def]
                _, page = await cmod.get("/admin/review")
                return "Dusk light" in page and page
            c_queue = await eventually(in_c_queue, what="C rejecting the work into its review queue")
            assert "rejected by policy" in c_queue
            _, c_feed = await cleo.get("/feed")
            assert "Dusk light" not in c_feed
        finally:
            for user in (alice, boss, bob, cleo, cmod):
                await user.close()


class _Visitor(Browserless):
    async def __aenter__(self) -> _Visitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
