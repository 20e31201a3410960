"""Account moves on the wire (issue 18): a Move from a signing peer re-points our local followers when the new
actor lists the old one in alsoKnownAs, and is refused (logged, never a 500) otherwise; our actor document
publishes alsoKnownAs and movedTo under contexts we ship."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from cara_fed.errors import PermissionDenied
from cara_fed.models import Account, Follow, InboxItem
from cara_fed.services import follows, moves
from federation.discovery import resolver
from federation.wire import parse, parse_values, serialize_actors
from tests.federation.peer import signed_post
from tests.federation.sink import local_artist

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


async def _following(ctx, follower: Account, uri: str) -> Follow | None:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Follow).join(Account, Follow.followee_id == Account.id)
                                    .where(Follow.follower_id == follower.id, Account.uri == uri))


async def _follow_accepted(ctx, follower: Account, uri: str) -> Follow:  # type: ignore[no-untyped-def]
    remote = await resolver.fetch_actor(ctx, uri)
    await follows.request_follow(ctx, follower, remote)
    await follows.remote_answered(ctx, follower, remote, True)
    found = await _following(ctx, follower, uri)
    assert found is not None and found.state == "accepted"
    return found


async def _item(ctx, activity_id: str) -> InboxItem:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(InboxItem).where(InboxItem.activity_id == activity_id))


async def test_move_from_a_peer_repoints_our_followers(fed, inbox_client, peer, ada):
    old = peer.add_actor("old")
    new = peer.add_actor("new", slot=1)
    new.extra["alsoKnownAs"] = [old.id]
    bea = await local_artist(fed, "bea")
    old_follows = [await _follow_accepted(fed, who, old.id) for who in (ada, bea)]

    move = peer.activity(old, "Move", old.id, target=new.id)
    response = await signed_post(inbox_client, fed.url("/inbox"), move, key=old)
    assert response.status == 202, await response.text()
    item = await _item(fed, move["id"])
    assert item.state == "processed", item.error

    for who, before in zip((ada, bea), old_follows, strict=True):
        ended = await _following(fed, who, old.id)
        assert ended.state == "cancelled"
        now = await _following(fed, who, new.id)
        assert now is not None and now.state == "requested"  # the Follow to the new actor is on its way
        assert ("FollowRequested", (now.id,)) in fed.jobs.ran
        assert ("FollowCancelled", (before.id,)) in fed.jobs.ran
    async with fed.sessions() as session:
        moved = await session.scalar(select(Account).where(Account.uri == old.id))
        assert moved.moved_to is not None and moved.moved_to.uri == new.id
    # Nobody here starts following the old account any more.
    cy = await local_artist(fed, "cy")
    with pytest.raises(PermissionDenied, match="moved"):
        await follows.request_follow(fed, cy, moved)


async def test_move_whose_target_does_not_list_the_old_actor_is_refused(fed, inbox_client, peer, ada, caplog):
    old = peer.add_actor("old")
    impostor = peer.add_actor("impostor", slot=1)  # no alsoKnownAs at all
    before = await _follow_accepted(fed, ada, old.id)

    move = peer.activity(old, "Move", old.id, target=impostor.id)
    with caplog.at_level(logging.WARNING, logger="federation.inbound.moves"):
        response = await signed_post(inbox_client, fed.url("/inbox"), move, key=old)
    assert response.status == 202, await response.text()  # stored, then refused by the worker: never a 500
    item = await _item(fed, move["id"])
    assert item.state == "ignored" and "alsoKnownAs" in item.error
    assert "refused Move" in caplog.text
    assert (await _following(fed, ada, old.id)).state == "accepted" == before.state
    assert await _following(fed, ada, impostor.id) is None


async def test_move_of_someone_else_is_ignored(fed, inbox_client, peer, ada):
    mallory, victim = peer.add_actor("mallory"), peer.add_actor("victim", slot=1)
    new = peer.add_actor("new", slot=2, alsoKnownAs=[victim.id])
    await _follow_accepted(fed, ada, victim.id)
    move = peer.activity(mallory, "Move", victim.id, target=new.id)
    assert (await signed_post(inbox_client, fed.url("/inbox"), move, key=mallory)).status == 202
    item = await _item(fed, move["id"])
    assert item.state == "ignored" and "its own actor" in item.error
    assert (await _following(fed, ada, victim.id)).state == "accepted"


async def test_actor_document_publishes_aliases_and_moved_to(fed, peer, ada):
    old = peer.add_actor("old")
    new = peer.add_actor("new", slot=1, alsoKnownAs=[fed.url("/users/ada")])
    await moves.add_alias(fed, ada.id, await resolver.fetch_actor(fed, old.id))
    target = await resolver.fetch_actor(fed, new.id)
    await moves.move(fed, ada.id, target)
    async with fed.sessions() as session:
        me = await session.get(Account, ada.id)
    doc = serialize_actors.actor_document(fed, me)
    assert doc["alsoKnownAs"] == [old.id] and doc["movedTo"] == new.id
    # Both terms survive our own JSON-LD compaction, so other servers read them under the IRIs Mastodon uses.
    compacted = parse.normalize(doc)
    assert parse_values.iris(compacted.get("alsoKnownAs")) == [old.id]
    assert parse_values.iri(compacted.get("movedTo")) == new.id
    assert ("AccountMoved", (ada.id,)) in fed.jobs.ran


async def test_move_onto_one_of_our_artists_needs_her_alias(fed, inbox_client, peer, ada):
    """Moving here: the target is our own artist, whose aliases are read from our database."""
    old = peer.add_actor("old")
    bea = await local_artist(fed, "bea")
    await _follow_accepted(fed, bea, old.id)

    early = peer.activity(old, "Move", old.id, target=fed.url("/users/ada"))
    assert (await signed_post(inbox_client, fed.url("/inbox"), early, key=old)).status == 202
    assert (await _item(fed, early["id"])).state == "ignored"  # ada has not named the old account yet
    assert (await _following(fed, bea, old.id)).state == "accepted"

    await moves.add_alias(fed, ada.id, await resolver.fetch_actor(fed, old.id))
    move = peer.activity(old, "Move", old.id, target=fed.url("/users/ada"))
    assert (await signed_post(inbox_client, fed.url("/inbox"), move, key=old)).status == 202
    item = await _item(fed, move["id"])
    assert item.state == "processed", item.error
    assert (await _following(fed, bea, old.id)).state == "cancelled"
    async with fed.sessions() as session:
        now = await session.scalar(select(Follow).where(Follow.follower_id == bea.id, Follow.followee_id == ada.id))
    assert now is not None and now.state == "accepted"  # a local follow: accepted at once
