"""Remote media: fetched from the peer over HTTP, then the same protection pipeline as uploads."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cara_fed.models import Artwork, MediaAsset
from cara_fed.services import remote
from cara_fed.services.remote import RemoteActor, RemoteArtwork, RemoteImage
from federation.media_fetch import fetch_remote_media
from federation.net import FetchError
from tests import images
from tests.federation.peer import enable_federation, running_peer


@pytest.fixture
async def peer():  # type: ignore[no-untyped-def]
    async with running_peer() as running:
        yield running


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


async def test_transient_failure_raises_and_a_later_run_succeeds(fed, peer):
    url = peer.serve("/media/later.jpg", b"", "text/plain", status=503)
    with pytest.raises(FetchError) as caught:  # InlineJobs: the queue's retry is visible as the exception
        await _post(fed, peer, url)
    assert caught.value.code == "http_status" and not caught.value.permanent
    async with fed.sessions() as session:
        asset = await session.scalar(select(MediaAsset).where(MediaAsset.remote_url == url))
    assert asset.state == "uploaded" and asset.error_code is None

    peer.serve("/media/later.jpg", images.jpeg(), "image/jpeg")
    await fetch_remote_media(fed, asset.id)
    async with fed.sessions() as session:
        artwork = await session.scalar(select(Artwork))
    assert await _state(fed, artwork.id) == ("published", [("ready", None)])


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
