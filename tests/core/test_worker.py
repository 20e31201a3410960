"""The real queue: huey on SQLite and on Redis, consumer threads handing coroutines to our loop."""

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cara_fed.config import load_config
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.migrate import upgrade
from cara_fed.models import Artwork, MediaAsset, MediaDerivative
from cara_fed.queue import QUEUES
from cara_fed.services import accounts, artworks, media_pipeline, media_sweep
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from cara_fed_run.worker import Worker, make_huey, wire_jobs
from tests import images
from tests.services import redis_url


async def wait_for(predicate, within: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def make_artist(ctx: Context):  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        return await accounts.create_account(ctx, tx, "ada", "ada@example.org", "password123",
                                             bypass_registration=True)


@pytest.fixture(params=["sqlite", "redis"])
async def queued_ctx(request, tmp_path):  # type: ignore[no-untyped-def]
    env = {"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data")}
    if request.param == "redis":
        import redis

        url = redis_url()
        redis.Redis.from_url(url).flushdb()
        env |= {"CARA_FED__JOBS__BACKEND": "redis", "CARA_FED__JOBS__REDIS_URL": url}
    ctx = Context.create(load_config(environ=env))
    await upgrade(ctx.engine)
    jobs = wire_jobs(ctx)
    jobs.attach(ctx, asyncio.get_running_loop())
    worker = Worker(jobs, QUEUES, threads=2, embedded=True)
    worker.start()
    yield ctx
    await asyncio.to_thread(worker.stop)
    await ctx.close()
    if request.param == "redis":
        import redis

        redis.Redis.from_url(url).flushdb()


async def test_upload_is_processed_by_the_real_worker(queued_ctx):
    ctx = queued_ctx
    artist = await make_artist(ctx)
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title="Queued"),
                                         [Upload(images.jpeg(1500, 1000), "q.jpg", "queued")])
    assert work.state == "processing"  # the request returns before the pipeline runs

    async def published():  # type: ignore[no-untyped-def]
        async with ctx.sessions() as session:
            row = await session.get(Artwork, work.id)
            return row if row.state == "published" else None

    row = await wait_for(published)
    assert row.images[0].asset.state == "ready"
    derivatives = row.images[0].asset.derivatives
    assert max(d.width for d in derivatives) == 1500  # full size kept, never upscaled to 2560
    assert {d.format for d in derivatives} == {"webp", "jpeg"} and min(d.width for d in derivatives) == 400


async def test_jobs_are_safe_to_run_twice_and_the_sweep_recovers_stuck_work(ctx):
    """Inline jobs: a duplicate run is a no-op; a worker that died mid-way is recovered by the sweep."""
    artist = await make_artist(ctx)
    work = await artworks.create_artwork(ctx, artist, ArtworkInput(title="Twice"),
                                         [Upload(images.jpeg(600, 400), "t.jpg", "")])
    asset_id = work.images[0].asset_id
    await media_pipeline.protect_media(ctx, asset_id)  # a duplicate delivery of the same job
    async with ctx.sessions() as session:
        derivatives = (await session.scalars(select(MediaDerivative).where(MediaDerivative.asset_id == asset_id))).all()
    assert len(derivatives) == len({(d.long_edge, d.format) for d in derivatives}) > 0  # made once

    # Simulate a worker that died while processing, long ago.
    work2 = await artworks.create_artwork(ctx, artist, ArtworkInput(title="Stuck"),
                                          [Upload(images.jpeg(600, 400), "s.jpg", "")])
    stuck_id = work2.images[0].asset_id
    async with ctx.transaction() as tx:
        await tx.session.execute(update(MediaAsset).where(MediaAsset.id == stuck_id).values(
            state="processing", state_changed_at=utcnow() - timedelta(hours=1)))
        await tx.session.execute(update(Artwork).where(Artwork.id == work2.id).values(state="processing"))
    for derivative in (await _derivatives(ctx, stuck_id)):
        await ctx.storage.delete("public", derivative.key)
    async with ctx.transaction() as tx:
        await tx.session.execute(MediaDerivative.__table__.delete().where(MediaDerivative.asset_id == stuck_id))
    assert await media_sweep.sweep(ctx) == 1
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, stuck_id)
        artwork = await session.get(Artwork, work2.id)
    assert asset.state == "ready" and artwork.state == "published"


async def _derivatives(ctx, asset_id):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return (await session.scalars(select(MediaDerivative).where(MediaDerivative.asset_id == asset_id))).all()


def test_the_sqlite_queue_commits_without_a_flush_each_time(tmp_path) -> None:
    """synchronous=NORMAL under WAL: a queued or taken job costs no fsync (huey's default, FULL, flushed the
    disk for each one, under the queue's lock). Jobs survive a process crash; a machine crash may lose the last
    ones, which the sweep queues again."""
    config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data")})
    storage = make_huey(config, "inbox").storage
    assert storage.sql("pragma journal_mode", results=True) == [("wal",)]
    assert storage.sql("pragma synchronous", results=True) == [(1,)]  # NORMAL
    storage.enqueue(b"job", priority=0)
    assert storage.dequeue() == b"job"
