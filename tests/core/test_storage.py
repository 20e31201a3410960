"""The media store interface on both backends — local disk and a real S3 server (SeaweedFS) — and
`cara-fed media migrate` between them."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator
from email.message import Message
from pathlib import Path

import pytest

from cara_fed.media_admin import migrate, setup
from cara_fed.storage import LocalStorage, MediaMissing, MediaStore, StorageError, content_key, new_key, object_headers
from cara_fed.storage_s3 import S3Storage
from cara_fed_run.cli import main
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)


def fetch(url: str) -> tuple[Message, bytes]:
    with urllib.request.urlopen(url) as response:
        return response.headers, response.read()


def s3_store(server: Seaweed, bucket: str | None = None, prefix: str = "") -> S3Storage:
    return S3Storage(endpoint=server.endpoint, bucket=bucket or server.new_bucket(), access_key="test",
                     secret_key="test", prefix=prefix)


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaStore]:
    if request.param == "local":
        made: MediaStore = LocalStorage(tmp_path / "media")
    else:
        made = s3_store(request.getfixturevalue("seaweed"), prefix="cara")
        assert await setup(made) == "s3: bucket created"
    yield made
    await made.close()


async def test_put_get_list_delete(store: MediaStore):
    public = content_key(b"pixels", ".jpg", salt="1:400.jpg")
    private = new_key()
    await store.put("public", public, b"pixels", object_headers(public, noai=True))
    await store.put("private", private, b"original")
    assert await store.get("public", public) == b"pixels"
    assert await store.get("private", private) == b"original"
    assert await store.exists("public", public) and not await store.exists("private", public)  # areas apart
    assert [key async for key in store.keys("public")] == [public]
    assert [key async for key in store.keys("private")] == [private]
    await store.put("public", public, b"pixels")  # a retried job writes the same object again
    await store.delete("public", public)
    await store.delete("public", public)  # deleting what is gone is fine
    assert not await store.exists("public", public)
    with pytest.raises(MediaMissing):
        await store.get("public", public)


async def test_keys_cannot_escape_their_area(store: MediaStore):
    for key in ["../private/ab/x", "/etc/passwd", "ab/../../x", "", "ab//x", "a\\b", "ab/./x"]:
        with pytest.raises(StorageError):
            await store.put("public", key, b"x")
        with pytest.raises(StorageError):
            await store.get("public", key)
    with pytest.raises(StorageError):
        await store.get("other", "ab/cd")
    assert [key async for key in store.keys("private")] == []


def test_content_keys_follow_the_bytes_and_the_salt():
    a = content_key(b"one", ".jpg", salt="7:400.jpg")
    assert a == content_key(b"one", ".jpg", salt="7:400.jpg")  # idempotent retries
    assert a != content_key(b"one!", ".jpg", salt="7:400.jpg")  # a re-stamped file gets a new key
    assert a != content_key(b"one", ".jpg", salt="8:400.jpg")  # two assets never share an object
    assert len(a) == len(new_key(".jpg"))  # the URL shape web/media.py routes


async def test_s3_objects_carry_type_caching_and_noai_metadata(seaweed: Seaweed):  # noqa: F811
    bucket = seaweed.new_bucket()
    store = s3_store(seaweed, bucket)
    await setup(store)
    key = content_key(b"jpeg bytes", ".jpg", salt="1:400.jpg")
    await store.put("public", key, b"jpeg bytes", object_headers(key, noai=True))
    # Read it as a CDN in front of the store would (SeaweedFS without identities answers anonymous reads).
    headers, body = await asyncio.to_thread(fetch, f"{seaweed.endpoint}/{bucket}/public/{key}")
    assert body == b"jpeg bytes"
    await store.close()
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Amz-Meta-X-Robots-Tag"] == "noai, noimageai"
    assert headers["X-Amz-Meta-Tdm-Reservation"] == "1"


async def test_migrate_local_to_s3_is_complete_and_resumable(tmp_path: Path, seaweed: Seaweed):  # noqa: F811
    local = LocalStorage(tmp_path / "media")
    keys = [content_key(bytes([n]) * 100, ".webp", salt=f"{n}:400.webp") for n in range(20)]
    for n, key in enumerate(keys):
        await local.put("public", key, bytes([n]) * 100)
    await local.put("private", "ab/" + "ab" * 16, b"original")
    target = s3_store(seaweed)
    await setup(target)
    first = await migrate(local, target, plain_keys=frozenset(keys[:1]))
    assert (first.copied, first.skipped) == (21, 0)
    again = await migrate(local, target, delete_source=True)
    assert (again.copied, again.skipped, again.deleted) == (0, 21, 21)
    assert [k async for k in local.keys("public")] == []
    assert sorted([k async for k in target.keys("public")]) == sorted(keys)
    assert await target.get("public", keys[3]) == bytes([3]) * 100
    assert await target.get("private", "ab/" + "ab" * 16) == b"original"
    await target.close()


def test_cli_media_migrate_moves_the_data_dir_into_the_bucket(tmp_path: Path, seaweed: Seaweed,  # noqa: F811
                                                              capsys: pytest.CaptureFixture[str]):
    bucket = seaweed.new_bucket()
    config = tmp_path / "cara.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[storage]\ns3_endpoint = "{seaweed.endpoint}"\ns3_bucket = "{bucket}"\n'
                      's3_access_key = "test"\ns3_secret_key = "test"\n')
    LocalStorage(tmp_path / "data" / "media")  # the embedded default's folders
    (tmp_path / "data" / "media" / "public" / "ab").mkdir()
    (tmp_path / "data" / "media" / "public" / "ab" / ("ab" * 16 + ".jpg")).write_bytes(b"served")
    assert main(["--config", str(config), "media", "migrate", "--from", "local", "--to", "s3"]) == 0
    out = capsys.readouterr().out
    assert "media local -> s3: 1 copied, 0 already there" in out and 'backend = "s3"' in out
    assert fetch(f"{seaweed.endpoint}/{bucket}/public/ab/{'ab' * 16}.jpg")[1] == b"served"
    assert main(["--config", str(config), "media", "migrate", "--from", "s3", "--to", "s3"]) == 2


async def test_s3_read_cache_keeps_hot_public_files_and_forgets_deleted_ones(seaweed: Seaweed):  # noqa: F811
    bucket = seaweed.new_bucket()
    web = S3Storage(endpoint=seaweed.endpoint, bucket=bucket, access_key="t", secret_key="t", cache_bytes=8 * 1024)
    other = s3_store(seaweed, bucket)  # another process: it shares the bucket, not the cache
    await setup(web)
    keys = [content_key(bytes([n]) * 512, ".jpg", salt=f"{n}") for n in range(20)]
    for n, key in enumerate(keys):
        await other.put("public", key, bytes([n]) * 512)
        assert await web.get("public", key) == bytes([n]) * 512
    assert web._cache_size <= 8 * 1024 and list(web._cache) == keys[-16:]  # bounded, least recently used out
    await other.delete("public", keys[-1])
    assert await web.get("public", keys[-1]) == bytes([19]) * 512  # immutable bytes: a hit needs no round trip
    await web.delete("public", keys[-1])
    with pytest.raises(MediaMissing):
        await web.get("public", keys[-1])
    await web.put("private", "ab/" + "cd" * 16, b"original")
    await web.get("private", "ab/" + "cd" * 16)
    assert "ab/" + "cd" * 16 not in web._cache  # originals are read once, by workers: never cached
    await web.close()
    await other.close()


async def test_readiness_of_an_s3_store_is_its_bucket(tmp_path: Path, seaweed: Seaweed):  # noqa: F811
    """/readyz's storage check on S3 asks the bucket (there is no local folder to look at): not ready until
    `cara-fed media setup` has created it."""
    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.health import readiness
    from cara_fed.migrate import upgrade

    config = load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"), "CARA_FED__STORAGE__BACKEND": "s3",
        "CARA_FED__DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint, "CARA_FED__STORAGE__S3_BUCKET": seaweed.new_bucket(),
        "CARA_FED__STORAGE__S3_ACCESS_KEY": "test", "CARA_FED__STORAGE__S3_SECRET_KEY": "test"})
    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine)
        before = await readiness(ctx)
        assert before["database"] == "ok" and before["storage"].startswith("error: ClientError"), before
        assert await setup(ctx.storage) == "s3: bucket created"
        assert (await readiness(ctx))["storage"] == "ok"
    finally:
        await ctx.close()
