"""Inbound Like, Announce, replies, mentions, Undo and Delete over real HTTP from a signing peer (Mastodon-shaped
documents), with the bad cases: a Like of nothing we store, a reply attributed to someone else, a duplicated
Announce, a reply to a work whose comments are off. Jobs run inline; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cara_fed.models import Boost, Comment, InboxItem, Like, Notification
from cara_fed.services import comments
from tests.federation.peer import PUBLIC, signed_post

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


async def count(ctx, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def last_item(ctx) -> InboxItem:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(InboxItem).order_by(InboxItem.id.desc()).limit(1))


async def send(inbox_client, fed, actor, activity):  # type: ignore[no-untyped-def]
    response = await signed_post(inbox_client, fed.url("/inbox"), activity, key=actor)
    assert response.status == 202, await response.text()
    return await last_item(fed)


def note(peer, actor, in_reply_to: str, content: str, **extra):  # type: ignore[no-untyped-def]
    """A reply as Mastodon sends it (Create{Note}), addressed publicly, cc the author."""
    number = len(peer.resources) + 1
    return {"id": f"{peer.base}/users/{actor.name}/statuses/{number}", "type": "Note",
            "attributedTo": actor.id, "inReplyTo": in_reply_to, "content": content,
            "published": "2026-12-01T10:00:00Z", "to": [PUBLIC], "cc": [actor.id + "/followers"],
            "url": f"{peer.base}/@{actor.name}/{number}", **extra}


async def test_like_announce_duplicates_and_undo(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    note_id = fed.url(f"/@ada/{work.id}")
    like = peer.activity(alice, "Like", note_id)
    assert (await send(inbox_client, fed, alice, like)).state == "processed"
    assert await count(fed, Like) == 1
    # The same Like again under a new id (a retry from another server) is deduplicated, not counted twice.
    again = await send(inbox_client, fed, alice, peer.activity(alice, "Like", note_id))
    assert again.state == "ignored" and "duplicate Like" in again.error
    announce = peer.activity(alice, "Announce", note_id, to=[PUBLIC], cc=[alice.id + "/followers"])
    assert (await send(inbox_client, fed, alice, announce)).state == "processed"
    duplicate = await send(inbox_client, fed, alice, {**announce, "id": announce["id"] + "-again"})
    assert duplicate.state == "ignored" and "duplicate Announce" in duplicate.error
    assert await count(fed, Boost) == 1
    async with fed.sessions() as session:
        kinds = sorted((await session.scalars(select(Notification.kind))).all())
    assert kinds == ["boost", "like"]

    # Undo with the Like embedded (Mastodon), and Undo naming the Announce by id only.
    undo = peer.activity(alice, "Undo", {"id": like["id"], "type": "Like", "actor": alice.id, "object": note_id})
    assert (await send(inbox_client, fed, alice, undo)).state == "processed"
    assert (await send(inbox_client, fed, alice, peer.activity(alice, "Undo", announce["id"]))).state == "processed"
    assert await count(fed, Like) == 0 and await count(fed, Boost) == 0
    assert await count(fed, Notification) == 0  # unread ones leave with the undone like and boost

    # Someone else cannot undo Alice's like.
    await send(inbox_client, fed, alice, peer.activity(alice, "Like", note_id))
    mallory = peer.add_actor("mallory")
    forged = peer.activity(mallory, "Undo", {"type": "Like", "actor": alice.id, "object": note_id})
    item = await send(inbox_client, fed, mallory, forged)
    assert item.state == "ignored" and await count(fed, Like) == 1


async def test_like_of_nothing_we_store_is_recorded_and_ignored(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    for target in (fed.url("/@ada/999999"), fed.url("/@nobody/1"), f"{peer.base}/statuses/1"):
        item = await send(inbox_client, fed, alice, peer.activity(alice, "Like", target))
        assert item.state == "ignored" and "not an artwork stored here" in item.error
    assert await count(fed, Like) == 0


async def test_reply_is_stored_sanitized_threaded_notifies_and_deletes(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    note_id = fed.url(f"/@ada/{work.id}")
    reply = note(peer, alice, note_id, '<p><span class="h-card"><a href="http://x/@ada" class="u-url mention">@ada'
                 '</a></span> Lovely! <script>alert(1)</script><img src=x onerror=alert(2)></p>',
                 tag=[{"type": "Mention", "href": fed.url("/users/ada"), "name": "@ada@test.example"}])
    item = await send(inbox_client, fed, alice, peer.activity(alice, "Create", reply, to=reply["to"], cc=reply["cc"]))
    assert item.state == "processed", item.error
    async with fed.sessions() as session:
        stored = await session.scalar(select(Comment))
        kinds = (await session.scalars(select(Notification.kind))).all()
    assert stored.state == "visible" and stored.uri == reply["id"] and "Lovely!" in stored.content_html
    assert "<script" not in stored.content_html and "onerror" not in stored.content_html
    assert list(kinds) == ["comment"]  # the artist is told once, not again for the mention

    # Bob answers Alice's comment: a reply in the thread.
    bob = peer.add_actor("bob")
    answer = note(peer, bob, reply["id"], "<p>Agreed</p>")
    assert (await send(inbox_client, fed, bob, peer.activity(bob, "Create", answer))).state == "processed"
    async with fed.sessions() as session:
        child = await session.scalar(select(Comment).where(Comment.uri == answer["id"]))
    assert child.parent_id == stored.id

    # Only the author may delete it; then it is gone.
    forged = await send(inbox_client, fed, bob, peer.activity(bob, "Delete", {"id": reply["id"], "type": "Tombstone"}))
    assert forged.state == "ignored" and await count(fed, Comment) == 2
    tombstone = {"id": reply["id"], "type": "Tombstone"}
    deleted = await send(inbox_client, fed, alice, peer.activity(alice, "Delete", tombstone))
    assert deleted.state == "processed" and await count(fed, Comment) == 0  # its replies go with it


async def test_reply_attributed_to_someone_else_is_refused(fed, inbox_client, peer, work):
    alice, mallory = peer.add_actor("alice"), peer.add_actor("mallory")
    forged = note(peer, alice, fed.url(f"/@ada/{work.id}"), "<p>I never said this</p>")
    item = await send(inbox_client, fed, mallory, peer.activity(mallory, "Create", forged))
    assert item.state == "ignored" and "not to the sender" in item.error
    assert await count(fed, Comment) == 0 and await count(fed, Notification) == 0


async def test_reply_to_work_with_comments_off_is_kept_but_not_shown(fed, inbox_client, peer, work):
    await comments.set_policy(fed, work.account, work.id, "off")
    alice = peer.add_actor("alice")
    reply = note(peer, alice, fed.url(f"/@ada/{work.id}"), "<p>Hello?</p>")
    item = await send(inbox_client, fed, alice, peer.activity(alice, "Create", reply))
    assert item.state == "ignored" and "turned comments off" in item.error
    async with fed.sessions() as session:
        stored = await session.scalar(select(Comment))
    assert stored.state == "rejected" and await count(fed, Notification) == 0


async def test_mention_in_another_post_notifies(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    post = note(peer, alice, "", "<p>@ada look at this</p>",
                tag=[{"type": "Mention", "href": fed.url("/users/ada"), "name": "@ada@test.example"}])
    del post["inReplyTo"]
    create = peer.activity(alice, "Create", post)
    assert (await send(inbox_client, fed, alice, create)).state == "processed"
    await send(inbox_client, fed, alice, {**create, "id": create["id"] + "-2"})  # delivered twice: told once
    async with fed.sessions() as session:
        rows = (await session.scalars(select(Notification))).all()
    assert [(n.kind, n.object_uri) for n in rows] == [("mention", post["url"])]
