"""Group commit and caches of the inbox, over real HTTP with a peer on loopback; jobs run inline.

Concurrent signed POSTs share transactions and one `process_inbox_batch` job per batch; every row is still
stored exactly once, a duplicate is a 202 no-op, a batch the database refuses answers 503 to each of its
requests, and the key cache still re-fetches a rotated key (once, however many requests need it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cara_fed.db import utcnow
from cara_fed.models import Account, InboxItem, Instance
from cara_fed.services import instances
from cara_fed.services.inbox_batch import BatchFailed, NewItem, batcher_for
from federation.discovery import resolver
from tests.federation.peer import signed_post

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


async def stored(ctx) -> list[InboxItem]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem).order_by(InboxItem.id))).all())


def note_for(peer, actor, ada, n: int) -> dict:  # type: ignore[no-untyped-def]
    """A Create(Note) without images addressed to ada: stored, then ignored by the handler (not an artwork)."""
    note = {"id": f"{actor.id}/notes/{n}", "type": "Note", "attributedTo": actor.id, "to": [ada],
            "content": f"<p>note {n}</p>"}
    return peer.activity(actor, "Create", note, to=[ada])


def batch_jobs(ctx) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [args for name, args in ctx.jobs.ran if name == "process_inbox_batch"]


@contextmanager
def read_only(engine: AsyncEngine) -> Iterator[None]:
    """Every connection taken from the pool refuses writes (the database itself says no), until the end."""
    statement = "PRAGMA query_only = ON" if engine.dialect.name == "sqlite" else \
        "SET default_transaction_read_only = on"

    def on_checkout(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # PostgreSQL: the setting holds from the next transaction on

    event.listen(engine.sync_engine, "checkout", on_checkout)
    try:
        yield
    finally:
        event.remove(engine.sync_engine, "checkout", on_checkout)


async def test_200_concurrent_posts_are_stored_once_each_and_processed_in_batches(fed, inbox_client, peer, ada):
    actors = [peer.add_actor(f"actor{i}") for i in range(4)]
    inbox, ada_id = fed.url("/users/ada/inbox"), fed.url("/users/ada")
    creates = [(note_for(peer, actors[n % 4], ada_id, n), actors[n % 4]) for n in range(200)]
    responses = await asyncio.gather(*(signed_post(inbox_client, inbox, create, key=actor)
                                       for create, actor in creates))
    assert [r.status for r in responses] == [202] * 200
    assert {(await r.json())["status"] for r in responses} == {"accepted"}

    rows = await stored(fed)
    assert sorted(row.activity_id for row in rows) == sorted(create["id"] for create, _ in creates)
    assert all(row.recipient == str(ada.id) for row in rows)
    # Processed exactly once each (attempts == 1), by the handler (a Note without images is not stored).
    assert {(row.state, row.attempts) for row in rows} == {("ignored", 1)}
    assert all("no image attachments" in row.error for row in rows)
    jobs = batch_jobs(fed)
    assert sorted(i for ids in jobs for i in ids) == sorted(row.id for row in rows)
    assert len(jobs) < 200 and max(len(ids) for ids in jobs) > 1  # one queue write per batch
    assert not [name for name, _ in fed.jobs.ran if name == "process_inbox"]
    # Each actor's key was fetched once, however many of its requests arrived before it was cached.
    assert sorted(path for path, _ in peer.gets) == sorted(f"/users/actor{i}" for i in range(4))


async def test_a_duplicate_inside_one_batch_is_stored_once_and_both_get_202(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    await resolver.fetch_actor(fed, alice.id)
    batcher_for(fed).max_delay = 0.5  # both requests surely land in the same batch
    create = note_for(peer, alice, fed.url("/users/ada"), 1)
    first, second = await asyncio.gather(*(signed_post(inbox_client, fed.url("/users/ada/inbox"), create, key=alice)
                                           for _ in range(2)))
    assert (first.status, second.status) == (202, 202)
    assert sorted([(await first.json())["status"], (await second.json())["status"]]) == ["accepted", "duplicate"]
    [row] = await stored(fed)
    assert row.activity_id == create["id"] and row.attempts == 1
    assert batch_jobs(fed) == [(row.id,)]


async def test_a_batch_the_database_refuses_answers_503_to_each_request_and_stores_nothing(fed, inbox_client, peer, ada,
                                                                                        caplog):
    alice = peer.add_actor("alice")
    await resolver.fetch_actor(fed, alice.id)
    batcher_for(fed).max_delay = 0.5
    creates = [note_for(peer, alice, fed.url("/users/ada"), n) for n in range(20)]
    await fed.engine.dispose()
    with read_only(fed.engine):
        responses = await asyncio.gather(*(signed_post(inbox_client, fed.url("/users/ada/inbox"), create, key=alice)
                                           for create in creates))
        for response in responses:
            assert response.status == 503, await response.text()
            assert response.headers["Retry-After"] == "60"
            assert "retry" in (await response.json())["error"]
    await fed.engine.dispose()  # the read-only connections go; new ones may write again
    assert "could not store 20 received activities" in caplog.text  # one batch, refused as a whole
    assert await stored(fed) == [] and batch_jobs(fed) == []

    # The senders retry: now everything is stored, once.
    retried = await asyncio.gather(*(signed_post(inbox_client, fed.url("/users/ada/inbox"), create, key=alice)
                                     for create in creates))
    assert [r.status for r in retried] == [202] * 20
    assert sorted(row.activity_id for row in await stored(fed)) == sorted(c["id"] for c in creates)


async def test_a_row_the_database_cannot_take_fails_alone(fed, ada):
    """A row whose data cannot be written splits its batch: the others are stored and answered."""
    batcher_for(fed).max_delay = 0.2
    good = [NewItem(f"https://peer.example/a/{n}", "shared", "https://peer.example/u", "Like", {"n": n})
            for n in range(3)]
    bad = NewItem("https://peer.example/a/bad", "shared", "https://peer.example/u", "Like", {"n": {1, 2}})
    results = await asyncio.gather(*(batcher_for(fed).record(item) for item in (good[0], bad, *good[1:])),
                                   return_exceptions=True)
    assert isinstance(results[1], BatchFailed)
    assert all(isinstance(result, int) for result in (results[0], *results[2:]))
    assert sorted(row.activity_id for row in await stored(fed)) == sorted(item.activity_id for item in good)


async def test_the_key_cache_refetches_a_rotated_key_once(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice", slot=0)
    await resolver.fetch_actor(fed, alice.id)
    async with fed.transaction() as tx:  # cached two hours ago
        row = await tx.session.scalar(select(Account).where(Account.uri == alice.id))
        row.fetched_at = utcnow() - timedelta(hours=2)
    inbox, ada_id = fed.url("/users/ada/inbox"), fed.url("/users/ada")
    assert (await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 0), key=alice)).status == 202
    fetches = len(peer.gets)

    rotated = peer.add_actor("alice", slot=5)  # same actor, new key pair; our cache holds the old one
    responses = await asyncio.gather(*(signed_post(inbox_client, inbox, note_for(peer, rotated, ada_id, n), key=rotated)
                                       for n in range(1, 11)))
    assert [r.status for r in responses] == [202] * 10
    assert [path for path, _ in peer.gets[fetches:]] == ["/users/alice"]  # one re-fetch for all ten

    # The old key no longer verifies, and a key fetched a moment ago is not fetched again for it.
    old = await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 11), key=alice)
    assert old.status == 401 and len(peer.gets) == fetches + 1


async def test_an_admin_block_applies_at_once_despite_the_cache(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    inbox, ada_id = fed.url("/users/ada/inbox"), fed.url("/users/ada")
    assert (await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 1), key=alice)).status == 202
    await instances.set_policy(fed, peer.host, "suspend", "spam")
    response = await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 2), key=alice)
    assert response.status == 403 and "suspended" in (await response.json())["error"]
    async with fed.transaction() as tx:  # lifted again
        (await tx.session.get(Instance, peer.host)).policy = "none"
    assert (await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 3), key=alice)).status == 202
    async with fed.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 2


async def test_a_suspended_user_stops_receiving_at_once(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    inbox, ada_id = fed.url("/users/ada/inbox"), fed.url("/users/ada")
    assert (await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 1), key=alice)).status == 202
    async with fed.transaction() as tx:
        (await tx.session.get(Account, ada.id)).status = "suspended"
    assert (await signed_post(inbox_client, inbox, note_for(peer, alice, ada_id, 2), key=alice)).status == 404
