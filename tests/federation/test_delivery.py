"""Delivery over real HTTP to a loopback sink: signatures, outcomes, retries, the circuit breaker, the log,
and the real huey worker. Jobs run inline (SQLite and PostgreSQL) except in the worker test."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cara_fed import tasks
from cara_fed.config import load_config
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.migrate import upgrade
from cara_fed.models import Artwork, Delivery, Instance, OutgoingActivity
from cara_fed.queue import QUEUES
from cara_fed.services import artworks, deliveries, follows
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from cara_fed_run.worker import Worker, build_full_registry, wire_jobs
from federation.outbound import delivery
from tests import images
from tests.federation.sink import Sink, activities, local_artist, remote_actor, trust_local


@pytest.fixture
async def sink():  # type: ignore[no-untyped-def]
    server = await Sink().start(ports=2)  # two remote instances
    yield server
    await server.stop()


@pytest.fixture
def fed(ctx):  # type: ignore[no-untyped-def]
    ctx.config.federation.allow_private_addresses = True  # the sink lives on loopback
    return ctx


async def publish(ctx, artist, title: str = "Heron", visibility: str = "public") -> Artwork:  # type: ignore[no-untyped-def]
    """The real path: upload -> protection pipeline -> published -> artwork_published (all inline here)."""
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title=title, visibility=visibility),
                                         [Upload(images.jpeg(320, 240), "h.jpg", "a heron")])
    async with ctx.sessions() as session:
        return await session.get(Artwork, work.id)


async def with_followers(ctx, sink, per_instance: tuple[int, int] = (3, 2)):  # type: ignore[no-untyped-def]
    artist = await local_artist(ctx)
    trust_local(sink, ctx, artist)
    for index, count in enumerate(per_instance):
        for n in range(count):
            follower = await remote_actor(ctx, sink, index, f"fan{index}x{n}")
            await follows.receive_follow(ctx, follower, artist, f"{follower.uri}/follows/1")
    sink.reset()  # forget the Accepts
    return artist


async def rows(ctx, model, *where):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(model).where(*where).order_by(model.id))).unique().all())


async def posts(ctx, *where, type_: str = "Create") -> list[Delivery]:  # type: ignore[no-untyped-def]
    """Deliveries of activities of one type (the setup's Accepts are not what a test looks at)."""
    kind = select(OutgoingActivity.id).where(OutgoingActivity.activity_type == type_)
    return await rows(ctx, Delivery, Delivery.activity_id.in_(kind), *where)


async def make_due(ctx, *where) -> None:  # type: ignore[no-untyped-def]
    """Time travel for the retry schedule: everything matching is due now."""
    async with ctx.transaction() as tx:
        await tx.session.execute(update(Delivery).where(*where).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


async def test_publish_sends_one_signed_create_per_shared_inbox(fed, sink):
    artist = await with_followers(fed, sink)
    local_fan = await local_artist(fed, "bea")
    await follows.request_follow(fed, local_fan, artist)  # local followers get no HTTP
    work = await publish(fed, artist)

    creates = activities(sink, "Create")
    assert len(sink.received) == len(creates) == 2  # 5 followers, 2 shared inboxes
    assert sorted(r.port for r in creates) == sorted(sink.ports)
    assert all(r.path == "/inbox" and r.verified and r.error is None for r in creates)
    assert all(r.headers["Content-Type"] == "application/activity+json" for r in creates)
    [outgoing] = await rows(fed, OutgoingActivity, OutgoingActivity.activity_type == "Create")
    assert {r.body.decode() for r in creates} == {outgoing.body}  # serialized once, sent byte for byte
    create = creates[0].json
    assert create["actor"] == fed.url("/users/ada")
    assert create["object"]["type"] == "Note" and create["object"]["id"] == fed.url(f"/@ada/{work.id}")
    assert creates[0].key_id == fed.url("/users/ada#main-key")
    assert "rsa-sha256" in creates[0].headers["Signature"]
    assert {d.state for d in await posts(fed)} == {"sent"}

    log = await deliveries.delivery_log(fed, work.id)
    assert [(e.activity_type, e.domain, e.state, e.attempts, e.last_status) for e in log] == sorted(
        [("Create", sink.domain(i), "sent", 1, 202) for i in (0, 1)])


async def test_gone_and_refused_inboxes(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    sink.answer(0, 410)
    sink.answer(1, 403)
    work = await publish(fed, artist)
    by_domain = {e.domain: e for e in await deliveries.delivery_log(fed, work.id)}
    gone, refused = by_domain[sink.domain(0)], by_domain[sink.domain(1)]
    assert (gone.state, gone.last_status) == ("gone", 410) and "gone" in gone.last_error
    assert (refused.state, refused.last_status) == ("failed", 403) and refused.last_error.startswith("HTTP 403")
    assert await deliveries.sweep(fed) == (0, 0)  # final states are never retried


async def test_server_error_is_retried_with_backoff_and_signed_afresh(fed, sink, monkeypatch):
    artist = await with_followers(fed, sink, (1, 0))
    sink.answer(0, 500)
    before = utcnow()
    work = await publish(fed, artist)
    [row] = await posts(fed)
    assert (row.state, row.attempts, row.last_status) == ("retry", 1, 500)
    assert timedelta(seconds=25) < row.next_attempt_at - before < timedelta(seconds=35)  # 30 s, then doubling
    assert deliveries.retry_delay(2) == timedelta(seconds=60) and deliveries.retry_delay(30) == timedelta(days=1)

    assert await deliveries.sweep(fed) == (0, 0)  # not due yet: nothing is sent early
    later = utcnow() + timedelta(seconds=40)
    monkeypatch.setattr(delivery, "clock", lambda: later)  # the retry happens 40 s later
    await make_due(fed)
    assert await deliveries.sweep(fed) == (1, 0)
    [row] = await posts(fed)
    assert (row.state, row.attempts, row.last_status, row.last_error) == ("sent", 2, 202, None)
    first, second = sink.received
    assert first.body == second.body and first.verified and second.verified
    assert first.headers["Date"] != second.headers["Date"]
    assert first.headers["Signature"] != second.headers["Signature"]
    assert [e.state for e in await deliveries.delivery_log(fed, work.id)] == ["sent"]


async def test_timeouts_retry_and_attempts_run_out(fed, sink, monkeypatch):
    monkeypatch.setattr(delivery, "TIMEOUT", 0.3)
    monkeypatch.setattr(deliveries, "BREAKER_THRESHOLD", 100)  # this test is about one delivery's retries
    artist = await with_followers(fed, sink, (1, 0))
    sink.answer(0, "hang")
    sink.set_status(0, 503)
    await publish(fed, artist)
    [row] = await posts(fed)
    assert row.state == "retry" and "timed out" in row.last_error
    for _ in range(deliveries.MAX_ATTEMPTS - 1):
        await make_due(fed)
        await deliveries.sweep(fed)
    [row] = await posts(fed)
    assert (row.state, row.attempts, row.last_status) == ("failed", deliveries.MAX_ATTEMPTS, 503)
    assert row.last_error.startswith(f"gave up after {deliveries.MAX_ATTEMPTS} attempts")


async def test_circuit_breaker_pauses_a_failing_instance_and_resumes_it(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    sink.set_status(1, 502)  # instance 1 is down
    await publish(fed, artist, "One")
    for _ in range(deliveries.BREAKER_THRESHOLD - 1):
        await make_due(fed, Delivery.domain == sink.domain(1))
        await deliveries.sweep(fed)
    down = sink.domain(1)
    async with fed.sessions() as session:
        instance = await session.get(Instance, down)
    assert instance.consecutive_failures == deliveries.BREAKER_THRESHOLD
    assert instance.paused_until > utcnow() + timedelta(minutes=9)
    assert len(sink.on(1)) == deliveries.BREAKER_THRESHOLD

    await publish(fed, artist, "Two")  # while paused: recorded, not sent
    assert len(sink.on(1)) == deliveries.BREAKER_THRESHOLD and len(sink.on(0)) == 2
    paused = await posts(fed, Delivery.domain == down)
    assert [d.state for d in paused] == ["paused", "paused"]
    await make_due(fed)
    assert await deliveries.sweep(fed) == (0, 0)  # nothing goes to a paused domain, even when due

    sink.set_status(1, 202)  # it comes back; the pause ends
    async with fed.transaction() as tx:
        await tx.session.execute(update(Instance).where(Instance.domain == down).values(
            paused_until=utcnow() - timedelta(seconds=1)))
    assert await deliveries.sweep(fed) == (0, 1)  # one probe; its success resumes the rest
    assert {d.state for d in await posts(fed)} == {"sent"}
    assert len(sink.on(1)) == deliveries.BREAKER_THRESHOLD + 2
    async with fed.sessions() as session:
        instance = await session.get(Instance, down)
    assert (instance.consecutive_failures, instance.paused_until) == (0, None) and instance.last_success_at
    assert len(await posts(fed)) == 4  # no row was lost or added while paused


async def test_pause_grows_when_the_probe_fails(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    sink.set_status(0, 500)
    await publish(fed, artist)
    for _ in range(deliveries.BREAKER_THRESHOLD - 1):
        await make_due(fed)
        await deliveries.sweep(fed)
    async with fed.transaction() as tx:
        await tx.session.execute(update(Instance).values(paused_until=utcnow() - timedelta(seconds=1)))
    await deliveries.sweep(fed)  # the probe fails too
    async with fed.sessions() as session:
        instance = await session.get(Instance, sink.domain(0))
    assert instance.consecutive_failures == deliveries.BREAKER_THRESHOLD + 1
    assert instance.paused_until > utcnow() + timedelta(minutes=19)  # 10 min, then 20 min ...
    assert [d.state for d in await posts(fed)] == ["paused"]


async def test_suspended_instance_gets_nothing(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    async with fed.transaction() as tx:
        tx.session.add(Instance(domain=sink.domain(1), policy="suspend", reason="spam"))
    await publish(fed, artist)
    assert [r.port for r in sink.received] == [sink.ports[0]]
    [refused] = await posts(fed, Delivery.domain == sink.domain(1))
    assert refused.state == "failed" and "suspended" in refused.last_error and refused.attempts == 0


async def test_allowlist_mode_sends_only_to_allowed_instances(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    fed.config.federation.allowlist_mode = True
    async with fed.transaction() as tx:
        tx.session.add(Instance(domain=sink.domain(0), allowed=True))
    await publish(fed, artist)
    assert [r.port for r in sink.received] == [sink.ports[0]]
    [refused] = await posts(fed, Delivery.domain == sink.domain(1))
    assert refused.state == "failed" and "allowlist" in refused.last_error and refused.attempts == 0


async def test_deliver_is_a_no_op_for_settled_and_unknown_rows(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    await publish(fed, artist)
    [row] = await posts(fed)
    await delivery.deliver(fed, row.id, 999_999)  # a duplicate job and a stale id
    assert len(sink.received) == 1
    [again] = await posts(fed)
    assert (again.state, again.attempts) == ("sent", 1)


async def test_sweep_recovers_deliveries_whose_job_was_lost(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    real = fed.jobs.registry.get(tasks.DELIVER.name)

    async def lost(ctx, *ids):  # type: ignore[no-untyped-def]
        """The queue lost the job (a worker died before taking it)."""

    fed.jobs.registry.register(tasks.DELIVER, lost)
    await publish(fed, artist)
    fed.jobs.registry.register(tasks.DELIVER, real.function)
    assert {d.state for d in await posts(fed)} == {"pending"} and sink.received == []
    assert await deliveries.sweep(fed) == (0, 0)  # a fresh row's job may just be queued: not yet
    async with fed.transaction() as tx:
        await tx.session.execute(update(Delivery).values(next_attempt_at=utcnow() - deliveries.PENDING_GRACE * 2))
    assert await deliveries.sweep(fed) == (2, 0)
    assert {d.state for d in await posts(fed)} == {"sent"} and len(sink.received) == 2


# --- the real queue --------------------------------------------------------------------------------


@pytest.fixture
async def queued(tmp_path):  # type: ignore[no-untyped-def]
    ctx = Context.create(load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
                                              "CARA_FED__SERVER__DOMAIN": "test.example",
                                              "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true"}))
    await upgrade(ctx.engine)
    jobs = wire_jobs(ctx, build_full_registry())
    jobs.attach(ctx, asyncio.get_running_loop())
    worker = Worker(jobs, QUEUES, threads=2, embedded=True)
    worker.start()
    yield ctx
    await asyncio.to_thread(worker.stop)
    await ctx.close()


async def wait_for(predicate, within: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_real_worker_delivers_accept_and_create(queued, sink):
    ctx = queued
    artist = await local_artist(ctx)
    trust_local(sink, ctx, artist)
    fan = await remote_actor(ctx, sink, 0, "fan")
    await follows.receive_follow(ctx, fan, artist, f"{fan.uri}/follows/7")
    [accept] = await wait_for(lambda: activities(sink, "Accept"))
    assert accept.verified and accept.path == "/users/fan/inbox"
    assert accept.json["object"]["id"] == f"{fan.uri}/follows/7"

    await artworks.create_artwork(ctx, artist, ArtworkInput(title="Queued heron"),
                                  [Upload(images.jpeg(320, 240), "q.jpg", "")])
    [create] = await wait_for(lambda: activities(sink, "Create"))
    assert create.verified and create.path == "/inbox" and create.json["object"]["name"] == "Queued heron"

    async def all_sent():  # type: ignore[no-untyped-def]
        return {d.state for d in await rows(ctx, Delivery)} == {"sent"}

    deadline = time.monotonic() + 30
    while not await all_sent():
        assert time.monotonic() < deadline, "deliveries were not settled"
        await asyncio.sleep(0.05)
