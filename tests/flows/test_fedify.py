"""A real third-party ActivityPub server (Fedify 2.3.6) federating with a running cara-fed instance."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests import images
from tests.flows.users import Browserless, eventually

pytestmark = pytest.mark.flow


async def test_fedify_follows_our_artist_and_receives_her_work(cara_and_peer):
    cara, peer = cara_and_peer
    actor = f"{cara.url}/users/ada"
    await asyncio.to_thread(peer.follow, actor)
    await asyncio.to_thread(peer.wait_for_following, actor)  # our Accept arrived and Fedify verified it

    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        location = await ada.upload("Lighthouse", [("l.jpg", images.jpeg(1200, 900), "A lighthouse in fog"),
                                                   ("m.png", images.png(400, 400, mode="RGB"), "Its lamp")])
    finally:
        await ada.close()
    note_id = f"{cara.url}{location}"

    create = await asyncio.to_thread(
        peer.wait_for_inbox, lambda a: a["type"] == "Create" and _object(a).get("id") == note_id, 60)
    note = _object(create)
    assert note["type"] == "Note" and note["name"] == "Lighthouse"
    attachments = note["attachment"]
    assert [a["name"] for a in attachments] == ["A lighthouse in fog", "Its lamp"]
    assert all(a["url"].startswith(f"{cara.url}/media/") and a.get("blurhash") for a in attachments)
    assert note.get("xRobotsTag") == "noai, noimageai"


async def test_our_user_follows_fedify_and_sees_its_note(cara_and_peer):
    cara, peer = cara_and_peer
    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        async with ada.http.get(f"{cara.url}/follow", params={"handle": peer.handle}, allow_redirects=False) as found:
            assert found.status == 303, await found.text()
            profile = found.headers["Location"]
        _, page = await ada.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
        await ada.post(f"/accounts/{account_id}/follow", {}, token_from=profile)
        await asyncio.to_thread(peer.wait_for_follower, f"{cara.url}/users/ada")

        async def accepted():  # type: ignore[no-untyped-def]
            _, html = await ada.get(profile)
            return "Unfollow" in html
        await eventually(accepted, what="Fedify's Accept being verified and recorded")

        media = await asyncio.to_thread(peer.add_media, "sea.png", images.png(800, 600, mode="RGB"), "image/png")
        await asyncio.to_thread(peer.post_note, "<p>Sea study <script>alert(1)</script></p>",
                                attachments=[{"url": media, "mediaType": "image/png", "name": "Waves at noon"}])

        async def in_feed():  # type: ignore[no-untyped-def]
            _, html = await ada.get("/feed")
            return "Waves at noon" in html and "/media/" in html and html
        feed = await eventually(in_feed, what="the Fedify Note reaching our home feed with cached media")
        assert "<script>alert(1)" not in feed
    finally:
        await ada.close()


def _object(activity: dict) -> dict:
    obj = activity.get("object")
    return obj if isinstance(obj, dict) else {}


async def test_fedify_dereferences_a_comment_and_backfills_the_thread(cara_and_peer):
    """Issue 16 item 1: a reply's parent must be fetchable, and the thread reachable through `replies`."""
    cara, peer = cara_and_peer
    ada = Browserless(cara.url)
    try:
        await ada.login("ada", "ada password")
        location = await ada.upload("Harbour", [("h.jpg", images.jpeg(900, 700), "Boats at dawn")])

        async def published():  # type: ignore[no-untyped-def]
            _, html = await ada.get(location)
            return 'name="content"' in html
        await eventually(published, what="the artwork being published")
        work_id = location.rsplit("/", 1)[1]
        first = await ada.post(f"/artworks/{work_id}/comments", {"content": "Study for the #harbour series"},
                               token_from=location)
        first_id = re.search(r"#comment-(\d+)", first.headers["Location"]).group(1)
        reply = await ada.post(f"/artworks/{work_id}/comments", {"content": "Second pass", "parent_id": first_id},
                               token_from=location)
        assert first.status == reply.status == 303
    finally:
        await ada.close()
    note_id = f"{cara.url}{location}"

    backfilled = await asyncio.to_thread(peer.thread, note_id)
    thread = backfilled["thread"]
    assert [entry["type"] for entry in thread] == ["Note", "Note"]
    top, answer = thread
    assert top["inReplyTo"] == note_id and "/tags/harbour" in top["content"]
    assert top["id"].startswith(f"{cara.url}/comments/")
    assert answer["inReplyTo"] == top["id"] and "Second pass" in answer["content"]
    assert top["attributedTo"] == answer["attributedTo"] == f"{cara.url}/users/ada"

    # From the reply alone, as Mastodon does on receiving it: the parent comment, then the work.
    upward = await asyncio.to_thread(peer.thread, answer["id"])
    assert upward["note"]["id"] == answer["id"]
    assert [a["id"] for a in upward["ancestors"]] == [top["id"], note_id]
    assert upward["root"]["id"] == note_id and [e["id"] for e in upward["thread"]] == [top["id"], answer["id"]]
