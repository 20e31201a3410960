"""The inbox worker's batches: activities of mixed types from several actors, received together over real
HTTP with one badly signed request among them, are processed by one batch job; only the bad one is refused
(401, nothing stored). Inside a batch each sender's activities take effect in the order received (Follow,
Undo, Follow again), a write in the middle is seen by the activities after it, and what the batch needs
from the database is read once for the batch, not once per activity."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event, select

from cara_fed.db import utcnow
from cara_fed.models import Account, Follow, InboxItem
from cara_fed.services import inbox as inbox_service
from cara_fed.services.inbox_batch import batcher_for
from federation.discovery import resolver
from federation.inbound.batch import process_inbox_batch
from federation.inbound.prefetch import batch_facts, sender_account
from tests.federation.peer import signed_post

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


def note(peer, actor, ada_uri: str, n: int) -> dict:  # type: ignore[no-untyped-def]
    obj = {"id": f"{actor.id}/notes/{n}", "type": "Note", "attributedTo": actor.id, "to": [ada_uri],
           "content": f"<p>note {n}</p>"}
    return peer.activity(actor, "Create", obj, to=[ada_uri])


async def rows(ctx) -> list[InboxItem]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem).order_by(InboxItem.id))).all())


async def follows_of(ctx, followee_id: int) -> dict[str, tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        found = (await session.execute(select(Account.uri, Follow.state, Follow.uri).join(
            Follow, Follow.follower_id == Account.id).where(Follow.followee_id == followee_id))).all()
    return {uri: (state, follow_uri) for uri, state, follow_uri in found}



async def known_actors(fed, peer, *names: str) -> list:  # type: ignore[no-untyped-def]
    """Peer actors whose keys we fetched just now, as the inbox would have before accepting their posts."""
    actors = [peer.add_actor(name) for name in names]
    for actor in actors:
        await resolver.fetch_actor(fed, actor.id)
    return actors

async def test_a_mixed_batch_with_one_bad_signature_refuses_only_that_one(fed, inbox_client, peer, ada):
    alice, bob, carol = await known_actors(fed, peer, "alice", "bob", "carol")  # a bad signature is not re-fetched
    batcher_for(fed).max_delay = 0.5  # every request lands in the same batch
    inbox, ada_uri = fed.url("/users/ada/inbox"), fed.url("/users/ada")
    sent = [
        (peer.activity(alice, "Follow", ada_uri), alice, alice),
        (note(peer, bob, ada_uri, 1), bob, bob),
        (peer.activity(carol, "Like", fed.url("/artworks/999")), carol, carol),
        (note(peer, alice, ada_uri, 2), alice, bob),  # alice's key id, bob's private key: a bad signature
        (peer.activity(bob, "Follow", ada_uri), bob, bob),
        (peer.activity(carol, "Delete", f"{carol.id}/notes/gone"), carol, carol),
    ]
    responses = await asyncio.gather(*(
        signed_post(inbox_client, inbox, activity, key=signer, key_id=author.key_id)
        for activity, author, signer in sent))
    assert [r.status for r in responses] == [202, 202, 202, 401, 202, 202]

    stored = await rows(fed)
    good = [activity["id"] for i, (activity, _, _) in enumerate(sent) if i != 3]
    assert sorted(row.activity_id for row in stored) == sorted(good)  # the bad one stored nothing
    jobs = [args for name, args in fed.jobs.ran if name == "process_inbox_batch"]
    assert [sorted(ids) for ids in jobs] == [sorted(row.id for row in stored)]  # one batch job for all five
    states = {row.activity_id: (row.state, row.attempts) for row in stored}
    assert states == {sent[0][0]["id"]: ("processed", 1), sent[1][0]["id"]: ("ignored", 1),
                      sent[2][0]["id"]: ("ignored", 1), sent[4][0]["id"]: ("processed", 1),
                      sent[5][0]["id"]: ("ignored", 1)}
    assert {uri for uri in await follows_of(fed, ada.id)} == {alice.id, bob.id}


async def store(ctx, recipient: str, activities: list[dict]) -> list[int]:  # type: ignore[no-untyped-def]
    """Rows as the inbox stores them after verifying each request (the worker trusts them)."""
    now = utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        for activity in activities:
            tx.session.add(InboxItem(activity_id=activity["id"], recipient=recipient, actor_uri=activity["actor"],
                                     activity_type=activity["type"], payload=activity, state="received",
                                     state_changed_at=now, attempts=0, received_at=now))
    return [row.id for row in await rows(ctx)][-len(activities):]


async def test_each_senders_activities_take_effect_in_order_within_one_batch(fed, peer, ada):
    alice, bob = await known_actors(fed, peer, "alice", "bob")
    ada_uri = fed.url("/users/ada")
    first = peer.activity(alice, "Follow", ada_uri)
    undo = peer.activity(alice, "Undo", {"id": first["id"], "type": "Follow", "actor": alice.id, "object": ada_uri})
    again = peer.activity(alice, "Follow", ada_uri)
    bob_follow = peer.activity(bob, "Follow", ada_uri)
    bob_undo = peer.activity(bob, "Undo", bob_follow["id"])  # by id: must see the Follow written just before
    batch = [first, note(peer, bob, ada_uri, 1), undo, bob_follow, again, bob_undo, note(peer, alice, ada_uri, 2)]
    ids = await store(fed, str(ada.id), batch)

    await process_inbox_batch(fed, *ids)

    by_id = {row.activity_id: row for row in await rows(fed)}
    assert [by_id[a["id"]].state for a in batch] == ["processed", "ignored", "processed", "processed", "processed",
                                                     "processed", "ignored"]
    # alice: followed, undid it, followed again (the last Follow's id); bob: followed, then undid it.
    assert await follows_of(fed, ada.id) == {alice.id: ("accepted", again["id"]),
                                             bob.id: ("cancelled", bob_follow["id"])}


async def test_a_batch_reads_its_senders_and_objects_once(fed, peer, ada):
    actors = await known_actors(fed, peer, *(f"actor{i}" for i in range(4)))
    ada_uri = fed.url("/users/ada")
    batch = [note(peer, actors[n % 4], ada_uri, n) for n in range(40)]
    batch[7]["object"]["attachment"] = [{"type": "Image", "url": f"{actors[3].id}/{uuid.uuid4().hex}.png",
                                         "mediaType": "image/png"}]  # an artwork from a stranger: not stored
    ids = await store(fed, str(ada.id), batch)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731  (before_cursor_execute's statement)
    event.listen(fed.engine.sync_engine, "before_cursor_execute", listener)
    try:
        await process_inbox_batch(fed, *ids)
    finally:
        event.remove(fed.engine.sync_engine, "before_cursor_execute", listener)

    found = await rows(fed)
    assert {row.state for row in found} == {"ignored"}
    assert "nobody here follows the author" in next(r.error for r in found if r.activity_id == batch[7]["id"])
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # One read of the senders, one of the objects, one of the follows: not one of each per activity.
    assert len(reads) <= 3, reads
    assert len(statements) <= 8, statements  # with the claim and the outcomes (a few statements each)


async def test_a_job_also_takes_the_rows_still_waiting_for_theirs_and_never_a_row_in_hand(fed, peer, ada):
    alice, bob = await known_actors(fed, peer, "alice", "bob")
    ada_uri = fed.url("/users/ada")
    first = peer.activity(alice, "Follow", ada_uri)
    undo = peer.activity(alice, "Undo", {"id": first["id"], "type": "Follow", "actor": alice.id, "object": ada_uri})
    held = peer.activity(bob, "Follow", ada_uri)
    ids = await store(fed, str(ada.id), [first, note(peer, bob, ada_uri, 1), undo, held])
    async with fed.transaction(changes_pages=False) as tx:  # another batch holds bob's Follow right now
        row = await tx.session.get(InboxItem, ids[3])
        row.attempts, row.state_changed_at = 1, utcnow()

    await process_inbox_batch(fed, ids[2])  # the job of the Undo alone: it takes the two rows before it too

    by_id = {row.id: row for row in await rows(fed)}
    assert [(by_id[i].state, by_id[i].attempts) for i in ids] == [
        ("processed", 1), ("ignored", 1), ("processed", 1), ("received", 1)]  # in id order; the held row untouched
    assert await follows_of(fed, ada.id) == {alice.id: ("cancelled", first["id"])}  # Follow, then its Undo

    await process_inbox_batch(fed, ids[0], ids[1])  # their own jobs come later: nothing left to do
    assert [(row.state, row.attempts) for row in await rows(fed)] == [
        ("processed", 1), ("ignored", 1), ("processed", 1), ("received", 1)]


async def test_facts_outlive_the_inbox_storing_rows_but_not_other_writes(fed, peer, ada):
    # With the embedded worker the inbox commits new rows many times while one batch runs; those commits
    # change no account, artwork or follow, so the batch must not read its facts again after each of them.
    (alice,) = await known_actors(fed, peer, "alice")
    ada_uri = fed.url("/users/ada")
    ids = await store(fed, str(ada.id), [note(peer, alice, ada_uri, 1)])
    reads: list[str] = []
    this_task = asyncio.current_task()  # (the inline job the new row queues reads its own sender, elsewhere)
    listener = lambda *args: reads.append(args[2]) if (  # noqa: E731
        "accounts.uri IN" in args[2] and asyncio.current_task() is this_task) else None
    event.listen(fed.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with inbox_service.claimed_batch(fed, ids), batch_facts(fed, inbox_service.claimed_rows()):
            assert (await sender_account(fed, alice.id)).uri == alice.id
            later = note(peer, alice, ada_uri, 2)
            assert await inbox_service.record(fed, activity_id=later["id"], recipient=str(ada.id),
                                              actor_uri=alice.id, activity_type="Create", payload=later)
            await sender_account(fed, alice.id)
            assert len(reads) == 1, reads  # the inbox's commit kept the facts
            async with fed.transaction() as tx:  # any other write empties them
                account = await tx.session.scalar(select(Account).where(Account.uri == alice.id))
                account.display_name = "Alice, renamed"
            assert (await sender_account(fed, alice.id)).display_name == "Alice, renamed"
            assert len(reads) == 2, reads
    finally:
        event.remove(fed.engine.sync_engine, "before_cursor_execute", listener)
