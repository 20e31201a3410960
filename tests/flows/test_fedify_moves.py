"""Account moves against the Fedify peer (a real third-party server, issue 18): Fedify receives and verifies our
Move when our artist moves to a Fedify account, and we act on the Move Fedify sends when its actor moves:
our follower follows the new actor and the old follow ends; a Move onto an actor that does not list the old
one in alsoKnownAs is refused."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.flows.users import Browserless, eventually

pytestmark = pytest.mark.flow
AS = "https://www.w3.org/ns/activitystreams"


async def test_fedify_receives_our_move(cara_and_peer):  # noqa: F811
    cara, peer = cara_and_peer
    ada_uri = f"{cara.url}/users/ada"
    await asyncio.to_thread(peer.follow, ada_uri)
    await asyncio.to_thread(peer.wait_for_following, ada_uri)
    new = await asyncio.to_thread(peer.add_actor, "ada_new")
    await asyncio.to_thread(peer.set_aliases, [ada_uri], actor="ada_new")

    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        moved = await ada.post("/settings/move", {"target": f"@ada_new@{peer.host}", "password": "ada password"},
                               token_from="/settings/move")
        assert moved.status == 303, await moved.text()
    finally:
        await ada.close()
    move = await asyncio.to_thread(peer.wait_for_inbox, lambda a: a["type"] == "Move", 60)
    assert move["actor"] == ada_uri and move["object"] == ada_uri and move["target"] == new
    [entry] = [e for e in await asyncio.to_thread(peer.inbox_entries) if e["type"] == "Move"]
    assert entry["signature"] in ("draft-cavage", "rfc9421")  # Fedify verified who sent it


async def test_we_act_on_a_move_sent_by_fedify(cara_and_peer):  # noqa: F811
    cara, peer = cara_and_peer
    old = peer.actor_id
    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        async with ada.http.get(f"{cara.url}/follow", params={"handle": peer.handle},
                                allow_redirects=False) as found:
            assert found.status == 303, await found.text()
            profile = found.headers["Location"]
        _, page = await ada.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await ada.post(f"/accounts/{account_id}/follow", {}, token_from=profile)
        await asyncio.to_thread(peer.wait_for_follower, f"{cara.url}/users/ada")

        # A Move onto an actor that does not name the old one is refused; the follow stays.
        stranger = await asyncio.to_thread(peer.add_actor, "stranger")
        await asyncio.to_thread(peer.send, {"@context": AS, "type": "Move", "object": old, "target": stranger},
                                to_followers=True)
        await eventually(lambda: _logged(cara, "refused Move"), what="the refused Move being logged")
        assert f"{cara.url}/users/ada" in await asyncio.to_thread(peer.followers)
        assert f"{cara.url}/users/ada" not in await asyncio.to_thread(peer.followers, actor="stranger")

        # The real move: the new actor lists the old one; ada's server follows the new actor, ends the old follow.
        new = await asyncio.to_thread(peer.add_actor, "moved")
        await asyncio.to_thread(peer.set_aliases, [old], actor="moved")
        await asyncio.to_thread(peer.set_aliases, [], moved_to=new)
        await asyncio.to_thread(peer.send, {"@context": AS, "type": "Move", "object": old, "target": new},
                                to_followers=True)
        await asyncio.to_thread(peer.wait_for, lambda: f"{cara.url}/users/ada" in peer.followers(actor="moved"),
                                timeout=60, what="ada following the new actor")
        await asyncio.to_thread(peer.wait_for, lambda: f"{cara.url}/users/ada" not in peer.followers(),
                                timeout=60, what="ada's old follow ending")
        _, copy = await ada.get(profile)
        assert "has moved to" in copy and f"@moved@{peer.host}" in copy
    finally:
        await ada.close()


async def _logged(cara, text: str) -> bool:  # type: ignore[no-untyped-def]
    return text in cara.log()
