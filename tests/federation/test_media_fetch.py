"""Remote media: fetched from the peer over HTTP, then the same protection pipeline as uploads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cara_fed.db import utcnow
from cara_fed.models import Artwork, MediaAsset
from cara_fed.services import media_sweep, remote
from cara_fed.services.remote import RemoteActor, RemoteArtwork, RemoteImage
from federation.inbound.media_fetch import fetch_remote_media
from tests import images
from tests.federation.peer import enable_federation


@pytest.fixture
def fed(ctx):  # type: ignore[no-untyped-def]
    return enable_federation(ctx)


async def _post(ctx, peer, *urls: str) -> Artwork:  # type: ignore[no-untyped-def]
    """A remote artist on the peer posts an artwork with these image URLs (jobs run inline)."""
    actor = peer.add_actor("alice")
    account = await remote.upsert_actor(ctx, RemoteActor(
        uri=actor.id, username="alice", domain=peer.host, inbox=actor.id + "/inbox",
        public_key_pem=actor.public_pem, key_id=actor.key_id))
    return await remote.upsert_artwork(ctx, account, RemoteArtwork(
        uri=actor.id + "/notes/1", attributed_to=actor.id, title="Remote piece",
        images=[RemoteImage(url=url, alt_text=f"image {i}") for i, url in enumerate(urls)]))


async def _state(ctx, artwork_id: int) -> tuple[str, list[tuple[str, str | None]]]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        artwork = await session.get(Artwork, artwork_id)
        return artwork.state, [(i.asset.state, i.asset.error_code) for i in artwork.images]


async def test_remote_images_are_fetched_and_processed(fed, peer):
    jpeg = peer.serve("/media/a.jpg", images.jpeg(1200, 800), "image/jpeg")
    unlabelled = peer.serve("/media/b", images.png(300, 200), "application/octet-stream", chunked=True)
    artwork = await _post(fed, peer, jpeg, unlabelled)
    state, assets = await _state(fed, artwork.id)
    assert state == "published" and assets == [("ready", None), ("ready", None)]
    async with fed.sessions() as session:
        asset = await session.get(MediaAsset, artwork.images[1].asset_id)
    assert asset.original_type == "image/png"  # sniffed from the bytes, not the label
    assert asset.derivatives and asset.blurhash

    gets = len(peer.gets)
    await fetch_remote_media(fed, asset.id)  # a duplicate job is a no-op
    assert len(peer.gets) == gets


async def test_private_address_is_rejected_with_a_reason(ctx, peer):
    enable_federation(ctx, allow_private=False)
    url = peer.serve("/media/a.jpg", images.jpeg(), "image/jpeg")
    artwork = await _post(ctx, peer, url)
    state, assets = await _state(ctx, artwork.id)
    assert state == "failed" and assets == [("rejected", "blocked_address")]
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, artwork.images[0].asset_id)
    assert "private or reserved" in asset.error_message
    assert peer.gets == []


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"<html>hello</html>", "text/html", 200, "bad_type"),
    (b"MZ\x90\x00 not an image", "application/octet-stream", 200, "bad_type"),
    (b"", "text/plain", 404, "http_status"),
    (b"", "text/plain", 410, "http_status"),
])
async def test_permanent_failures_reject_the_asset(fed, peer, body, content_type, status, code):
    url = peer.serve("/media/x", body, content_type, status=status)
    artwork = await _post(fed, peer, url)
    assert await _state(fed, artwork.id) == ("failed", [("rejected", code)])


@pytest.mark.parametrize("chunked", [False, True])
async def test_too_large_is_rejected(fed, peer, chunked):
    fed.config.media.max_upload_mb = 1
    url = peer.serve("/media/big.jpg", images.jpeg(64, 64) + b"\0" * (2 * 1024 * 1024), "image/jpeg",
                     chunked=chunked)
    artwork = await _post(fed, peer, url)
    assert await _state(fed, artwork.id) == ("failed", [("rejected", "too_large")])


async def _asset(ctx, url: str) -> MediaAsset:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(MediaAsset).where(MediaAsset.remote_url == url))


async def _time_passes(ctx, url: str) -> None:  # type: ignore[no-untyped-def]
    """The back-off runs out (we move the asset's clock rather than wait minutes)."""
    async with ctx.transaction() as tx:
        await tx.session.execute(update(MediaAsset).where(MediaAsset.remote_url == url)
                                 .values(next_attempt_at=utcnow() - timedelta(seconds=1)))


async def test_a_transient_failure_is_counted_backed_off_and_retried_by_the_sweep(fed, peer):
    url = peer.serve("/media/later.jpg", b"", "text/plain", status=503)
    artwork = await _post(fed, peer, url)  # no exception: the queue must not retry on its own
    asset = await _asset(fed, url)
    assert asset.state == "uploaded" and asset.fetch_attempts == 1 and asset.error_code == "http_status"
    assert asset.next_attempt_at > utcnow() + timedelta(seconds=50)  # backing off about a minute
    assert await media_sweep.sweep(fed) == 0  # not due yet: nothing queued, nothing fetched
    assert asset.fetch_attempts == (await _asset(fed, url)).fetch_attempts

    peer.serve("/media/later.jpg", images.jpeg(), "image/jpeg")
    await _time_passes(fed, url)
    assert await media_sweep.sweep(fed) == 1
    assert await _state(fed, artwork.id) == ("published", [("ready", None)])


async def test_remote_media_that_keeps_failing_is_given_up_with_the_reason(fed, peer):
    fed.config.federation.media_fetch_attempts = 3
    slow = peer.serve("/media/slow.jpg", images.jpeg(), "image/jpeg", status=502)
    good = peer.serve("/media/good.jpg", images.jpeg(), "image/jpeg")
    artwork = await _post(fed, peer, slow, good)
    waits = []
    for _ in range(2):
        asset = await _asset(fed, slow)
        waits.append(asset.next_attempt_at - utcnow())
        await _time_passes(fed, slow)
        await media_sweep.sweep(fed)
    assert waits[1] > waits[0] * 3  # exponential: 1 minute, then 4
    asset = await _asset(fed, slow)
    assert asset.state == "rejected" and asset.fetch_attempts == 3 and asset.error_code == "fetch_failed"
    assert "Gave up after 3 tries" in asset.error_message and "502" in asset.error_message
    # The work shows the image that could be fetched; it no longer waits ("processing") forever.
    assert await _state(fed, artwork.id) == ("published", [("ready", None)])
    assert await media_sweep.sweep(fed) == 0


async def test_a_remote_work_keeps_the_images_that_could_be_fetched(fed, peer):
    good = peer.serve("/media/good.jpg", images.jpeg(), "image/jpeg")
    gone = peer.serve("/media/gone.jpg", b"", "text/plain", status=410)
    page = peer.serve("/media/page", b"<html>not a picture</html>", "text/html")
    artwork = await _post(fed, peer, gone, good, page)
    state, assets = await _state(fed, artwork.id)
    assert state == "published" and assets == [("ready", None)]
    async with fed.sessions() as session:
        kept = await session.scalars(select(MediaAsset.error_code).where(MediaAsset.state == "rejected"))
        assert sorted(kept.all()) == ["bad_type", "http_status"]  # the reasons stay on record


async def test_a_remote_work_with_no_fetchable_image_fails(fed, peer):
    gone = peer.serve("/media/gone.jpg", b"", "text/plain", status=404)
    page = peer.serve("/media/page", b"<html>not a picture</html>", "text/html")
    artwork = await _post(fed, peer, gone, page)
    assert (await _state(fed, artwork.id))[0] == "failed"
