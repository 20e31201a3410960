"""Cached remote media nobody views is evicted by retention (files gone, rows and URLs kept) and fetched again
from its origin, over real HTTP, by the next request for one of its files."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import update

from cara_fed.config import load_config
from cara_fed.context import CONTEXT_KEY
from cara_fed.db import utcnow
from cara_fed.models import MediaAsset
from cara_fed.services import media_pipeline, remote, remote_cache, retention
from cara_fed.services.remote import RemoteActor, RemoteArtwork, RemoteImage
from cara_fed_run.app import create_app
from federation.inbound import media_fetch
from tests import images
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)


@pytest.fixture
def app_ctx(client):  # type: ignore[no-untyped-def]
    """The served app's context (jobs inline: the fetch runs inside the request that queued it)."""
    ctx = client.app[CONTEXT_KEY]
    ctx.config.federation.allow_private_addresses = True  # the peer is on loopback
    return ctx


async def _remote_asset(ctx, peer, path: str, body: bytes, content_type: str, *,  # type: ignore[no-untyped-def]
                        cloaked: dict | None = None) -> MediaAsset:
    url = peer.serve(path, body, content_type)
    actor = peer.add_actor("alice")
    account = await remote.upsert_actor(ctx, RemoteActor(
        uri=actor.id, username="alice", domain=peer.host, inbox=actor.id + "/inbox",
        public_key_pem=actor.public_pem, key_id=actor.key_id))
    artwork = await remote.upsert_artwork(ctx, account, RemoteArtwork(
        uri=f"{actor.id}/notes/{path.rsplit('/', 1)[-1]}", attributed_to=actor.id, title="Remote piece",
        cloaked=cloaked, images=[RemoteImage(url=url, alt_text="a picture")]))
    asset = await _asset(ctx, artwork.images[0].asset_id)
    assert asset.state == "ready" and asset.derivatives
    return asset


async def _asset(ctx, asset_id: int) -> MediaAsset:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.get(MediaAsset, asset_id)


async def _unviewed_for(ctx, asset_id: int, days: int) -> None:  # type: ignore[no-untyped-def]
    """Time passes (we move the asset's clock rather than wait a month)."""
    async with ctx.transaction() as tx:
        await tx.session.execute(update(MediaAsset).where(MediaAsset.id == asset_id)
                                 .values(last_viewed_at=utcnow() - timedelta(days=days)))


async def _files(ctx, asset: MediaAsset) -> list[bool]:  # type: ignore[no-untyped-def]
    return [await ctx.storage.exists("public", d.key) for d in asset.derivatives]


async def test_unviewed_remote_media_is_evicted_then_fetched_again_on_demand(client, app_ctx, peer):
    ctx = app_ctx
    asset = await _remote_asset(ctx, peer, "/media/a.jpg", images.jpeg(1000, 700), "image/jpeg")
    key = asset.best(400).key
    assert asset.last_viewed_at is None

    first = await client.get(f"/media/{key}")
    assert first.status == 200
    served = await first.read()
    viewed = (await _asset(ctx, asset.id)).last_viewed_at
    assert viewed is not None
    assert not await remote_cache.mark_viewed(ctx, asset.id)  # within the hour: no second write
    assert (await _asset(ctx, asset.id)).last_viewed_at == viewed

    await _unviewed_for(ctx, asset.id, 29)
    assert (await retention.prune(ctx)).evicted_remote_media == 0  # the default is 30 days
    await _unviewed_for(ctx, asset.id, 31)
    assert (await retention.prune(ctx)).evicted_remote_media == 1
    evicted = await _asset(ctx, asset.id)
    assert evicted.evicted_at is not None and evicted.original_key is None
    assert [d.key for d in evicted.derivatives] == [d.key for d in asset.derivatives]  # URLs kept
    assert evicted.remote_url == asset.remote_url and evicted.state == "ready"
    assert await _files(ctx, evicted) == [False] * len(asset.derivatives)
    assert not await ctx.storage.exists("private", asset.original_key)
    assert (await retention.prune(ctx)).evicted_remote_media == 0  # evicted once

    fetches = len(peer.gets)
    again = await client.get(f"/media/{key}")
    assert again.status == 200, await again.text()
    assert await again.read() == served  # same origin bytes, same pipeline: the very same file
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert [path for path, _ in peer.gets[fetches:]] == ["/media/a.jpg"]
    restored = await _asset(ctx, asset.id)
    assert restored.evicted_at is None and restored.original_key is not None
    assert await _files(ctx, restored) == [True] * len(asset.derivatives)
    assert restored.last_viewed_at > viewed


async def test_a_recent_view_or_zero_days_keeps_the_files(client, app_ctx, peer):
    ctx = app_ctx
    asset = await _remote_asset(ctx, peer, "/media/b.png", images.png(500, 400, mode="RGB"), "image/png")
    assert (await client.get(f"/media/{asset.derivatives[0].key}")).status == 200
    await _unviewed_for(ctx, asset.id, 5)
    assert (await retention.prune(ctx)).evicted_remote_media == 0
    ctx.config.retention.remote_media_unviewed_days = 0
    await _unviewed_for(ctx, asset.id, 3000)
    assert (await retention.prune(ctx)).evicted_remote_media == 0
    assert await _files(ctx, await _asset(ctx, asset.id)) == [True] * len(asset.derivatives)


async def test_origin_down_answers_503_with_retry_after_and_keeps_the_asset(client, app_ctx, peer):
    ctx = app_ctx
    asset = await _remote_asset(ctx, peer, "/media/c.jpg", images.jpeg(640, 480), "image/jpeg")
    key = asset.derivatives[0].key
    await _unviewed_for(ctx, asset.id, 31)
    assert (await retention.prune(ctx)).evicted_remote_media == 1

    peer.serve("/media/c.jpg", b"", "text/plain", status=503)
    down = await client.get(f"/media/{key}")
    assert down.status == 503 and 1 <= int(down.headers["Retry-After"]) <= 60
    failed = await _asset(ctx, asset.id)
    assert failed.evicted_at is not None and failed.state == "ready" and failed.error_code == "http_status"
    fetches = len(peer.gets)
    assert (await client.get(f"/media/{key}")).status == 503  # backing off: the origin is not asked again
    assert len(peer.gets) == fetches

    peer.serve("/media/c.jpg", images.jpeg(640, 480), "image/jpeg")
    async with ctx.transaction() as tx:  # the back-off runs out
        await tx.session.execute(update(MediaAsset).where(MediaAsset.id == asset.id)
                                 .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    back = await client.get(f"/media/{key}")
    assert back.status == 200 and (await _asset(ctx, asset.id)).error_code is None


async def test_a_cloaked_remote_work_keeps_the_origins_pixels_after_a_refetch(client, app_ctx, peer):
    ctx = app_ctx
    origin = images.png(320, 240, mode="RGB")
    asset = await _remote_asset(ctx, peer, "/media/cloaked.png", origin, "image/png",
                                cloaked={"engine": "adversarial", "version": "1"})
    assert asset.report.get("kept_origin_pixels") is True
    key = asset.derivatives[0].key  # the top size: the origin's own pixels
    await _unviewed_for(ctx, asset.id, 31)
    assert (await retention.prune(ctx)).evicted_remote_media == 1
    response = await client.get(f"/media/{key}")
    assert response.status == 200
    served = Image.open(io.BytesIO(await response.read())).convert("RGB")
    assert served.size == (320, 240)
    assert served.tobytes() == Image.open(io.BytesIO(origin)).convert("RGB").tobytes()


async def test_eviction_and_refetch_on_an_object_store(seaweed: Seaweed, tmp_path, aiohttp_client, peer):  # noqa: F811
    """The same through a real S3 server (SeaweedFS; SQLite is enough here): objects deleted, then put back."""
    config = load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"), "CARA_FED__SERVER__DOMAIN": "test.example",
        "CARA_FED__STORAGE__BACKEND": "s3", "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
        "CARA_FED__STORAGE__S3_BUCKET": seaweed.new_bucket(), "CARA_FED__STORAGE__S3_ACCESS_KEY": "test",
        "CARA_FED__STORAGE__S3_SECRET_KEY": "test", "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true"})
    client = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    ctx = client.app[CONTEXT_KEY]
    assert ctx.storage.local_path("public", "00/" + "0" * 32 + ".jpg") is None  # really the object store
    await ctx.storage.ensure_bucket()  # what `cara-fed media setup` does
    asset = await _remote_asset(ctx, peer, "/media/s3.jpg", images.jpeg(800, 600), "image/jpeg")
    key = asset.best(400).key
    served = await (await client.get(f"/media/{key}")).read()
    await _unviewed_for(ctx, asset.id, 31)
    assert (await retention.prune(ctx)).evicted_remote_media == 1
    assert await _files(ctx, asset) == [False] * len(asset.derivatives)
    again = await client.get(f"/media/{key}")
    assert again.status == 200 and await again.read() == served
    assert await _files(ctx, asset) == [True] * len(asset.derivatives)


async def test_with_a_real_queue_the_view_waits_then_gets_503_until_a_worker_fetches(config, aiohttp_client, peer):
    """The queue-and-wait path: jobs go to the real (SQLite) huey queue and no worker runs, so the view waits
    [retention] remote_media_refetch_wait_seconds and answers 503 + Retry-After; once a remote-media worker has
    run the queued job (here: called as the consumer would), the same URL serves the file."""
    config.jobs.embedded_worker = False
    config.retention.remote_media_refetch_wait_seconds = 1
    config.federation.allow_private_addresses = True
    client = await aiohttp_client(create_app(config, jobs="queue", migrate=True))
    ctx = client.app[CONTEXT_KEY]
    url = peer.serve("/media/q.jpg", images.jpeg(700, 500), "image/jpeg")
    actor = peer.add_actor("alice")
    account = await remote.upsert_actor(ctx, RemoteActor(
        uri=actor.id, username="alice", domain=peer.host, inbox=actor.id + "/inbox",
        public_key_pem=actor.public_pem, key_id=actor.key_id))
    artwork = await remote.upsert_artwork(ctx, account, RemoteArtwork(
        uri=f"{actor.id}/notes/q", attributed_to=actor.id, title="Queued", images=[RemoteImage(url=url)]))
    asset_id = artwork.images[0].asset_id
    await media_fetch.fetch_remote_media(ctx, asset_id)  # what the remote-media worker does with those jobs
    await media_pipeline.protect_media(ctx, asset_id)
    asset = await _asset(ctx, asset_id)
    key = asset.derivatives[0].key
    served = await (await client.get(f"/media/{key}")).read()
    await _unviewed_for(ctx, asset_id, 31)
    assert (await retention.prune(ctx)).evicted_remote_media == 1

    queue = ctx.jobs.hueys["remote-media"]
    waiting = queue.pending_count()
    busy = await client.get(f"/media/{key}")
    assert busy.status == 503 and busy.headers["Retry-After"] == "5"
    assert queue.pending_count() == waiting + 1  # the fetch is queued for a worker, not done in the web process
    assert (await client.get(f"/media/{key}")).status == 503
    assert queue.pending_count() == waiting + 1  # a second view does not queue it twice

    await media_fetch.refetch_remote_media(ctx, asset_id)  # the worker runs it
    again = await client.get(f"/media/{key}")
    assert again.status == 200 and await again.read() == served
