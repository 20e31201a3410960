"""[storage] public_base_url against a real S3 server (SeaweedFS, read anonymously here as a CDN would): a public
work's files are linked at the store, whose `published` copies carry our NoAI headers as metadata; followers-only
works stay on our /media/ route and never get a copy; a work going followers-only loses its copies; and
`cara-fed media sync-public` backfills (or, with the setting emptied, removes every copy)."""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from sqlalchemy import select, update

from cara_fed.config import Config, load_config
from cara_fed.models import MediaDerivative
from cara_fed_run.cli import main
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)
from tests.web.test_artworks import upload
from tests.web.test_media_store import derivative_keys

KEY = r"[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp)"
AP = "application/activity+json"


@pytest.fixture
def bucket(seaweed: Seaweed) -> str:  # noqa: F811
    return seaweed.new_bucket()


def settings(tmp_path: Path, seaweed: Seaweed, bucket: str, public: bool = True) -> dict[str, str]:  # noqa: F811
    return {
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),  # SQLite is enough here
        "CARA_FED__SERVER__DOMAIN": "test.example",
        "CARA_FED__STORAGE__BACKEND": "s3",
        "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
        "CARA_FED__STORAGE__S3_BUCKET": bucket,
        "CARA_FED__STORAGE__S3_ACCESS_KEY": "test",
        "CARA_FED__STORAGE__S3_SECRET_KEY": "test",
        "CARA_FED__STORAGE__PUBLIC_BASE_URL": f"{seaweed.endpoint}/{bucket}/published/" if public else "",
    }


@pytest.fixture
def config(tmp_path: Path, seaweed: Seaweed, bucket: str) -> Config:  # noqa: F811
    return load_config(environ=settings(tmp_path, seaweed, bucket))


def fetch(url: str) -> tuple[int, Message, bytes]:
    """What anyone (a browser, a CDN) gets from the store without credentials."""
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, b""


async def post(client, files, **fields) -> int:  # type: ignore[no-untyped-def]
    response = await upload(client, files, **fields)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def test_public_work_is_linked_at_the_store_with_noai_metadata(client, ctx, seaweed, bucket):  # noqa: F811
    await ctx.storage.ensure_bucket()
    base = f"{seaweed.endpoint}/{bucket}/published"
    await sign_up(client, "ada")
    artwork_id = await post(client, [("a.jpg", images.jpeg(900, 600), "A ferry")])
    page = await client.get(f"/@ada/{artwork_id}")
    html = await page.text()
    linked = sorted(set(re.findall(re.escape(base) + "/(" + KEY + ")", html)))
    assert linked and set(linked) <= set(await derivative_keys(ctx, artwork_id))
    assert not re.search("/media/" + KEY, html)  # none of this work's files through us
    assert f"img-src 'self' {seaweed.endpoint}" in page.headers["Content-Security-Policy"]

    status, headers, body = fetch(f"{base}/{linked[0]}")
    assert status == 200 and len(body) > 1000
    assert headers["Content-Type"] == "image/jpeg" if linked[0].endswith(".jpg") else "image/webp"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Amz-Meta-X-Robots-Tag"] == "noai, noimageai"
    assert headers["X-Amz-Meta-Tdm-Reservation"] == "1"
    ours = await client.get(f"/media/{linked[0]}")  # our route still answers (old links, caches)
    assert ours.status == 200 and await ours.read() == body

    # Followers' servers get the store URLs too.
    note = await (await client.get(f"/@ada/{artwork_id}", headers={"Accept": AP})).json()
    urls = [item["url"] for item in note["attachment"]]
    assert urls and all(url.startswith(base + "/") for url in urls)

    # Going followers-only: the copies go at once, and every URL we publish is ours again.
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    edited = await client.post(f"/artworks/{artwork_id}/edit", data={
        "csrf_token": token, "title": "A ferry", "description": "", "tags": "", "license": "all-rights-reserved",
        "noai": "on", "visibility": "followers"}, allow_redirects=False)
    assert edited.status == 303
    assert all(fetch(f"{base}/{key}")[0] == 404 for key in linked)
    html = await (await client.get(f"/@ada/{artwork_id}")).text()
    assert base not in html and re.search("/media/" + KEY, html)
    async with ctx.sessions() as session:
        assert not (await session.scalars(select(MediaDerivative.public_copy).where(
            MediaDerivative.public_copy.is_not(None)))).all()


async def test_followers_only_work_never_gets_a_public_object(client, ctx, seaweed, bucket):  # noqa: F811
    await ctx.storage.ensure_bucket()
    base = f"{seaweed.endpoint}/{bucket}/published"
    await sign_up(client, "ada")
    artwork_id = await post(client, [("a.png", images.png(300, 200), "x")], visibility="followers")
    html = await (await client.get(f"/@ada/{artwork_id}")).text()
    assert base not in html and re.search("/media/" + KEY, html)
    keys = await derivative_keys(ctx, artwork_id)
    async with ctx.sessions() as session:  # so no page, API answer or activity names a store URL for it
        assert set((await session.scalars(select(MediaDerivative.public_copy))).all()) == {None}
    assert keys and all(fetch(f"{base}/{key}")[0] == 404 for key in keys)
    assert [key async for key in ctx.storage.keys("published")] == []


async def test_sync_public_backfills_and_cleans_up(client, ctx, seaweed, bucket, tmp_path, monkeypatch):  # noqa: F811
    await ctx.storage.ensure_bucket()
    base = f"{seaweed.endpoint}/{bucket}/published"
    await sign_up(client, "ada")
    artwork_id = await post(client, [("a.jpg", images.jpeg(700, 500), "x")])
    keys = await derivative_keys(ctx, artwork_id)
    # As after an upgrade or `media migrate`: rows without copies, and no objects in the published area.
    async with ctx.transaction() as tx:
        await tx.session.execute(update(MediaDerivative).values(public_copy=None))
    for key in keys:
        await ctx.storage.delete("published", key)
    assert all(fetch(f"{base}/{key}")[0] == 404 for key in keys)

    for name, value in settings(tmp_path, seaweed, bucket).items():
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(main, ["media", "sync-public"]) == 0
    assert all(fetch(f"{base}/{key}")[0] == 200 for key in keys)
    html = await (await client.get(f"/@ada/{artwork_id}")).text()
    assert base + "/" in html

    # The setting emptied: the same command removes every copy (nothing public stays behind in the store).
    monkeypatch.setenv("CARA_FED__STORAGE__PUBLIC_BASE_URL", "")
    assert await asyncio.to_thread(main, ["media", "sync-public"]) == 0
    assert all(fetch(f"{base}/{key}")[0] == 404 for key in keys)
    assert [key async for key in ctx.storage.keys("published")] == []


def test_public_base_url_must_be_an_http_url(tmp_path: Path):
    from cara_fed.config import ConfigError

    for bad in ("ftp://cdn.example", "cdn.example/x", "https://cdn.example/x?a=1", "https://cdn.example/ 'x'"):
        with pytest.raises(ConfigError, match="public_base_url"):
            load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path),
                                 "CARA_FED__STORAGE__PUBLIC_BASE_URL": bad})
    good = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path),
                                "CARA_FED__STORAGE__PUBLIC_BASE_URL": "https://cdn.example/media/"})
    assert good.storage.public_base_url == "https://cdn.example/media"


async def test_client_api_names_the_store_and_a_suspension_removes_the_copies(client, ctx, seaweed,  # noqa: F811
                                                                               bucket):
    from cara_fed.services import accounts
    from tests.web.api_support import account_with_token, auth, post_work

    await ctx.storage.ensure_bucket()
    base = f"{seaweed.endpoint}/{bucket}/published"
    ada, token = await account_with_token(client, "ada")
    posted = await post_work(client, token, "A ferry", visibility="public")
    shown = await (await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(token))).json()
    urls = [m[name] for m in shown["media_attachments"] for name in ("url", "preview_url")]
    assert urls and all(url.startswith(base + "/") for url in urls)
    assert all(fetch(url)[0] == 200 for url in urls)

    await accounts.set_status(ctx, ada.id, "suspended", reason="test")
    assert all(fetch(url)[0] == 404 for url in urls)
    assert [key async for key in ctx.storage.keys("published")] == []
    await accounts.set_status(ctx, ada.id, "active", reason="test")  # reinstated: public again, copies back
    assert all(fetch(url)[0] == 200 for url in urls)
