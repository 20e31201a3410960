"""Issue 16 item 4 through a real peer (Fedify 2.3.6): a work whose description @mentions an account on the
peer reaches that account although it does not follow the artist, tagged and addressed as Mastodon expects
(a `Mention` tag and a `cc`), and Fedify verifies and accepts it."""

from __future__ import annotations

import asyncio

import pytest

from tests import images
from tests.flows.users import Browserless
from tests.instance import running_instance
from tests.peers.fedify_peer import require_fedify, running_fedify

pytestmark = pytest.mark.flow


async def test_a_mentioned_fedify_actor_receives_the_work_with_its_mention(tmp_path):
    require_fedify()
    with running_instance(tmp_path / "cara") as cara, running_fedify(tmp_path / "peer") as peer:
        cara.cli("createuser", "ada", "--email", "ada@cara.example", "--password", "ada password")
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            # Looking the handle up is how our server comes to know the account (no following needed).
            async with ada.http.get(f"{cara.url}/follow", params={"handle": peer.handle},
                                    allow_redirects=False) as found:
                assert found.status == 303, await found.text()
            location = await ada.upload("Lighthouse", [("l.jpg", images.jpeg(800, 600), "A lighthouse in fog")],
                                        description=f"Painted with @{peer.handle} on the cliffs, thanks @nobody.")
        finally:
            await ada.close()
        note_id = f"{cara.url}{location}"

        def is_the_work(activity: dict) -> bool:
            note = activity.get("object")
            return activity["type"] == "Create" and isinstance(note, dict) and note.get("id") == note_id

        create = await asyncio.to_thread(peer.wait_for_inbox, is_the_work, 60)
        note = create["object"]
        assert {"type": "Mention", "href": peer.actor_id, "name": f"@{peer.handle}"} in note["tag"]
        assert peer.actor_id in note["cc"] and peer.actor_id in create["cc"]
        assert '<span class="h-card"><a href="' in note["content"] and "@<span>alice</span></a>" in note["content"]
        assert "@nobody" in note["content"] and note["content"].count("u-url mention") == 1
