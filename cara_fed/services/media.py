"""Upload intake and an asset's files: the checks an upload passes before anything is stored, keeping its
original privately (which queues the protection pipeline: media_pipeline.py), and retiring or deleting the
files an asset owns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.models import MediaAsset, RetiredMedia
from cara_fed.storage import new_key
from protection import MediaPolicy, MediaRejected, probe


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str = ""
    alt_text: str = ""


def base_policy(ctx: Context) -> MediaPolicy:
    media = ctx.config.media
    return MediaPolicy(max_bytes=media.max_upload_mb * 1024 * 1024, max_pixels=media.max_megapixels * 1_000_000,
                       sizes=tuple(media.sizes))


def check_upload(ctx: Context, upload: Upload, label: str) -> str:
    """Checks that need no decoding (empty, size, type, declared pixels), done before anything is stored;
    returns the sniffed type. Raises ValidationError naming the file and the reason."""
    try:
        content_type, _width, _height = probe(upload.data, base_policy(ctx))
    except MediaRejected as exc:
        raise ValidationError({label: f"{upload.filename or 'The file'}: {exc.message}"}) from None
    return content_type


async def store_original(ctx: Context, tx: Transaction, account_id: int, upload: Upload, content_type: str,
                         purpose: str = "artwork") -> MediaAsset:
    """Keep the original privately and queue processing once the transaction commits."""
    key = new_key()
    await ctx.storage.put("private", key, upload.data)
    asset = MediaAsset(account_id=account_id, purpose=purpose, original_key=key, original_type=content_type,
                       original_size=len(upload.data), original_name=upload.filename[:255])
    tx.session.add(asset)
    tx.after_commit(lambda: ctx.jobs.enqueue(tasks.PROTECT_MEDIA, asset.id))
    return asset


async def retire_public_file(ctx: Context, tx: Transaction, asset_id: int, key: str) -> None:
    """A derivative replaced by a new one: keep serving its URL (pages and followers' copies still name it)
    until retention deletes it, [retention] replaced_media_hours from now."""
    delete_after = utcnow() + timedelta(hours=ctx.config.retention.replaced_media_hours)
    await tx.session.merge(RetiredMedia(key=key, asset_id=asset_id, delete_after=delete_after))


async def delete_asset_files(ctx: Context, tx: Transaction, asset: MediaAsset) -> None:
    """Once the transaction commits: the asset's private original, its public derivatives and the files
    re-stamps retired from it (a deleted work's files go at once, grace period or not)."""
    keys = [("private", asset.original_key)] if asset.original_key else []
    keys += [("public", d.key) for d in asset.derivatives]
    keys += [("published", d.key) for d in asset.derivatives if d.public_copy]  # the store/CDN's copies too
    retired = list((await tx.session.scalars(select(RetiredMedia).where(RetiredMedia.asset_id == asset.id))).all())
    keys += [("public", row.key) for row in retired]
    if ctx.config.storage.public_base_url:
        keys += [("published", row.key) for row in retired]
    for row in retired:
        await tx.session.delete(row)
    for area, key in keys:
        tx.after_commit(ctx.storage.delete, area, key)
