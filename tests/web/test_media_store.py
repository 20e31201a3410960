"""An instance whose media lives in a real S3 server (SeaweedFS): uploads land in the bucket, never on the local
disk; files are served through us with our access rules; a re-stamp writes new keys, keeps serving the old ones
for the grace period and then retention drops the old objects."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import timedelta
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select

from cara_fed.config import Config, load_config
from cara_fed.db import utcnow
from cara_fed.models import Artwork
from cara_fed.services import retention
from cara_fed_run.app import create_app
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)
from tests.web.test_artworks import upload

MEDIA_RE = re.compile(r"/media/([0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp))")


@pytest.fixture
def bucket(seaweed: Seaweed) -> str:  # noqa: F811
    return seaweed.new_bucket()


@pytest.fixture
def config(tmp_path: Path, seaweed: Seaweed, bucket: str) -> Config:  # noqa: F811  (SQLite is enough here)
    return load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
        "CARA_FED__SERVER__DOMAIN": "test.example",
        "CARA_FED__STORAGE__BACKEND": "s3",
        "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
        "CARA_FED__STORAGE__S3_BUCKET": bucket,
        "CARA_FED__STORAGE__S3_ACCESS_KEY": "test",
        "CARA_FED__STORAGE__S3_SECRET_KEY": "test",
    })


def raw_object(seaweed: Seaweed, bucket: str, key: str) -> tuple[int, Message, bytes]:  # noqa: F811
    """The object as the store itself answers (what a CDN in front of it would get); headers case-insensitive."""
    try:
        with urllib.request.urlopen(f"{seaweed.endpoint}/{bucket}/public/{key}") as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, b""


async def derivative_keys(ctx, artwork_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        work = await session.get(Artwork, artwork_id)
        return sorted(d.key for image in work.images for d in image.asset.derivatives)


async def test_uploads_live_in_the_bucket_and_restamps_get_new_keys(client, ctx, seaweed, bucket, config,  # noqa: F811
                                                                    aiohttp_client):
    await ctx.storage.ensure_bucket()
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(900, 600), "A ferry")])).headers["Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    html = await (await client.get(location)).text()
    keys = sorted(set(MEDIA_RE.findall(html)))
    assert keys and set(keys) <= set(await derivative_keys(ctx, artwork_id))
    assert not any(p.is_file() for p in (config.data_path / "media").rglob("*"))  # nothing on the local disk
    before = await derivative_keys(ctx, artwork_id)

    served = await client.get(f"/media/{keys[0]}")
    assert served.status == 200
    assert served.headers["X-Robots-Tag"] == "noai, noimageai" and "immutable" in served.headers["Cache-Control"]
    status, headers, body = raw_object(seaweed, bucket, keys[0])
    assert status == 200 and body == await served.read()
    assert headers["X-Amz-Meta-X-Robots-Tag"] == "noai, noimageai"  # the object carries the signal too

    # NoAI off: the files' XMP changes, so every derivative gets a new key. Pages and followers' servers may
    # still name the old URLs: they keep answering, with the work's current headers, until retention runs
    # past the grace period; then the old objects are gone.
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    edited = await client.post(f"/artworks/{artwork_id}/edit", data={
        "csrf_token": token, "title": "Night ferry", "description": "", "tags": "", "license": "all-rights-reserved",
        "visibility": "public"}, allow_redirects=False)
    assert edited.status == 303
    fresh = await derivative_keys(ctx, artwork_id)
    assert len(fresh) == len(before) and not set(fresh) & set(before)
    old = await client.get(f"/media/{keys[0]}")
    assert old.status == 200 and "X-Robots-Tag" not in old.headers and "immutable" in old.headers["Cache-Control"]
    assert all(raw_object(seaweed, bucket, key)[0] == 200 for key in before)
    new = await client.get(f"/media/{fresh[0]}")
    assert new.status == 200 and "X-Robots-Tag" not in new.headers
    status, headers, _ = raw_object(seaweed, bucket, fresh[0])
    assert status == 200 and "X-Amz-Meta-X-Robots-Tag" not in headers
    assert "immutable" in headers["Cache-Control"]

    assert (await retention.prune(ctx, now=utcnow() + timedelta(hours=1))).replaced_media == 0  # still in grace
    pruned = await retention.prune(ctx, now=utcnow() + timedelta(hours=config.retention.replaced_media_hours + 1))
    assert pruned.replaced_media == len(before)
    assert all(raw_object(seaweed, bucket, key)[0] == 404 for key in before)
    assert all(raw_object(seaweed, bucket, key)[0] == 200 for key in fresh)
    # A web process that has not served the old URL in the last minute (its access cache) answers 404.
    later = await aiohttp_client(create_app(config, jobs="inline", migrate=False))
    assert (await later.get(f"/media/{keys[0]}")).status == 404
    assert (await later.get(f"/media/{fresh[0]}")).status == 200


async def test_followers_only_files_come_through_us_only_for_the_link(client, ctx):
    await ctx.storage.ensure_bucket()
    await sign_up(client, "ada")
    location = (await upload(client, [("a.png", images.png(300, 200), "x")], visibility="followers")).headers[
        "Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    async with ctx.sessions() as session:
        assert (await session.scalar(select(Artwork.state).where(Artwork.id == artwork_id))) == "published"
    key, lost = (await derivative_keys(ctx, artwork_id))[:2]
    token = await csrf_from(client, "/settings")
    assert (await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)).status == 303
    assert (await client.get("/settings", allow_redirects=False)).status != 200  # a stranger now
    served = await client.get(f"/media/{key}")
    assert served.status == 200 and served.headers["Cache-Control"].startswith("private")
    assert len(await served.read()) > 100
    await ctx.storage.delete("public", lost)  # an object lost from the store is a 404, never a 500
    assert (await client.get(f"/media/{lost}")).status == 404
