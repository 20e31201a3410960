"""[retention] unattached_media_hours: an image a client app uploaded (POST /api/v2/media) that no post used is
deleted by the retention run — row, original and derivatives — while used images, web uploads and avatars stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cara_fed.db import utcnow
from cara_fed.models import MediaAsset
from cara_fed.services import retention
from tests import images
from tests.conftest import sign_up
from tests.web.api_support import account_with_token, app_ctx, auth, post_work, upload
from tests.web.test_artworks import upload as web_upload


async def files_of(ctx, asset_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, asset_id)
        assert asset is not None and asset.original_key
        return [("private", asset.original_key)] + [("public", d.key) for d in asset.derivatives]


async def test_unused_client_uploads_are_deleted_after_the_window(client):
    ctx = app_ctx(client)
    hours = ctx.config.retention.unattached_media_hours
    assert hours == 24  # the documented default
    _, token = await account_with_token(client, "ada")
    status, left = await upload(client, token, images.jpeg(400, 300))
    assert status in (200, 202), left
    posted = await post_work(client, token, "A ferry")
    used_id = int(posted["media_attachments"][0]["id"])
    await sign_up(client, "bea")
    assert (await web_upload(client, [("b.jpg", images.jpeg(300, 200), "x")])).status == 303
    async with ctx.sessions() as session:
        web_ids = list((await session.scalars(select(MediaAsset.id).where(MediaAsset.id.not_in(
            [int(left["id"]), used_id])))).all())
    assert web_ids
    left_files = await files_of(ctx, int(left["id"]))
    assert len(left_files) > 1 and all([await ctx.storage.exists(*f) for f in left_files])
    kept_files = [f for asset_id in [used_id, *web_ids] for f in await files_of(ctx, asset_id)]

    # Within the window the app may still post it.
    early = await retention.prune(ctx, now=utcnow() + timedelta(hours=hours - 1))
    assert early.unattached_media == 0
    assert (await client.get(f"/api/v1/media/{left['id']}", headers=auth(token))).status in (200, 206)

    late = await retention.prune(ctx, now=utcnow() + timedelta(hours=hours + 1))
    assert late.unattached_media == 1
    assert (await client.get(f"/api/v1/media/{left['id']}", headers=auth(token))).status == 404
    assert not any([await ctx.storage.exists(*f) for f in left_files])
    public_key = next(key for area, key in left_files if area == "public")
    assert (await client.get(f"/media/{public_key}")).status == 404
    async with ctx.sessions() as session:
        remaining = set((await session.scalars(select(MediaAsset.id))).all())
    assert remaining == {used_id, *web_ids}
    assert all([await ctx.storage.exists(*f) for f in kept_files])
    late_post = await client.post("/api/v1/statuses", json={"status": "Late", "media_ids": [left["id"]]},
                                  headers=auth(token))
    assert late_post.status == 422  # the app must upload it again
    # The post that used its image still shows it.
    shown = await client.get(f"/api/v1/statuses/{posted['id']}", headers=auth(token))
    assert shown.status == 200 and (await shown.json())["media_attachments"][0]["url"]


async def test_a_post_can_still_use_an_image_inside_the_window(client):
    ctx = app_ctx(client)
    _, token = await account_with_token(client, "ada")
    status, media = await upload(client, token)
    assert status in (200, 202)
    await retention.prune(ctx, now=utcnow() + timedelta(hours=ctx.config.retention.unattached_media_hours - 1))
    response = await client.post("/api/v1/statuses", json={"status": "Late post", "media_ids": [media["id"]]},
                                 headers=auth(token))
    assert response.status == 200, await response.text()
    # Attached now: a later run leaves it alone.
    pruned = await retention.prune(ctx, now=utcnow() + timedelta(hours=200))
    assert pruned.unattached_media == 0
    async with ctx.sessions() as session:
        assert await session.get(MediaAsset, int(media["id"])) is not None
