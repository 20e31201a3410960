"""The Fedify peer (a real third-party server) likes, boosts and replies to our artwork with Mastodon-shaped
activities; we count and show them, notify the artist, and reverse the Undo."""

from __future__ import annotations

import asyncio
import re
import sqlite3

import pytest

from tests import images
from tests.flows.users import Browserless, eventually

pytestmark = pytest.mark.flow


def counts(html: str) -> tuple[int, int, int]:
    found = [re.search(rf'class="(?:count )?{name}-count">(\d+)<', html) for name in ("like", "boost", "comment")]
    assert all(found), "the social counts are missing from the page"
    return tuple(int(m.group(1)) for m in found)  # type: ignore[union-attr,return-value]


async def test_fedify_likes_boosts_and_replies_to_our_artwork(cara_and_peer):  # noqa: F811
    cara, peer = cara_and_peer
    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        location = await ada.upload("Harbour", [("h.jpg", images.jpeg(900, 700), "Boats at dawn")])
        note_id = f"{cara.url}{location}"

        async def published():  # type: ignore[no-untyped-def]
            _, html = await ada.get(location)
            return "like-count" in html
        await eventually(published, what="the artwork being published")

        like = await asyncio.to_thread(peer.like, note_id)
        await asyncio.to_thread(peer.announce, note_id)
        await asyncio.to_thread(
            peer.post_note, '<p><span class="h-card"><a href="' + f"{cara.url}/@ada" + '" class="u-url mention">'
            '@<span>ada</span></a></span> What a sky! <script>alert(1)</script></p>',
            in_reply_to=note_id, mentions=[f"{cara.url}/users/ada"])

        async def shown():  # type: ignore[no-untyped-def]
            _, html = await ada.get(location)
            return counts(html) == (1, 1, 1) and html
        html = await eventually(shown, what="Fedify's Like, Announce and reply being counted and shown")
        assert "What a sky!" in html and "<script>alert(1)" not in html
        assert f"@{peer.host}" in html  # the commenter's handle, with their server

        _, notes = await ada.get("/notifications")
        assert "liked" in notes and "boosted" in notes and "commented on" in notes and "What a sky!" in notes

        # Fedify takes its like back (Undo with the Like embedded, as Mastodon sends it).
        await asyncio.to_thread(peer.send, {"@context": "https://www.w3.org/ns/activitystreams", "type": "Undo",
                                            "object": {"id": like["like_id"], "type": "Like",
                                                       "actor": peer.actor_id, "object": note_id}},
                                to=[f"{cara.url}/users/ada"])

        async def unliked():  # type: ignore[no-untyped-def]
            _, html = await ada.get(location)
            return counts(html) == (0, 1, 1)
        await eventually(unliked, what="Fedify's Undo(Like) reaching us")

        # Ada turns comments off. Fedify does not read interactionPolicy and replies anyway: we keep the reply
        # as rejected, and it is neither shown, nor counted, nor notified.
        artwork_id = location.rsplit("/", 1)[1]
        await ada.post(f"/artworks/{artwork_id}/comment-policy", {"comment_policy": "off"}, token_from=location)
        await asyncio.to_thread(peer.post_note, "<p>Replying anyway</p>", in_reply_to=note_id,
                                mentions=[f"{cara.url}/users/ada"])

        def rejected():  # type: ignore[no-untyped-def]
            with sqlite3.connect(cara.data_dir / "cara-fed.db") as db:
                return db.execute("SELECT state, reason FROM comments WHERE content_html LIKE '%anyway%'").fetchall()
        found = await eventually(lambda: asyncio.to_thread(rejected), what="the reply being stored as rejected")
        assert found == [("rejected", "The artist has turned comments off for this artwork.")]
        _, html = await ada.get(location)
        assert "Replying anyway" not in html and counts(html) == (0, 1, 1)
        _, notes = await ada.get("/notifications")
        assert "Replying anyway" not in notes
    finally:
        await ada.close()
