"""Client-API uploads: the image first, the artwork later (Mastodon's media_ids flow). An uploaded image waits
unattached, with its alt text and focal point, until an artwork claims it (artworks.create_from_media) or
retention prunes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.events import ArtworkUpdated, emit
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset
from cara_fed.services import artwork_history
from cara_fed.services.edits import content_of, mark_edited
from cara_fed.services.media import Upload, check_upload, delete_asset_files, store_original

PRUNE_BATCH = 200
MAX_DESCRIPTION = 1500  # alt text, as ArtworkImage's


def _focus(focus: tuple[float, float] | None) -> tuple[float, float] | None:
    if focus is None:
        return None
    x, y = focus
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise ValidationError({"focus": "Focus coordinates go from -1.0 to 1.0."})
    return x, y


async def upload_unattached(ctx: Context, account: Account, upload: Upload, description: str = "",
                            focus: tuple[float, float] | None = None) -> MediaAsset:
    """Store an image that no artwork holds yet: checked, kept privately and queued for protection now; an
    artwork claims it later (artworks.create_from_media)."""
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": f"Keep alt text under {MAX_DESCRIPTION} characters."})
    point = _focus(focus)
    content_type = check_upload(ctx, upload, "file")
    async with ctx.transaction(changes_pages=False) as tx:
        asset = await store_original(ctx, tx, account.id, upload, content_type)
        asset.description = description.strip()
        if point is not None:
            asset.focal_x, asset.focal_y = point
            asset.focal_chosen = True
        await tx.session.flush()
    return asset


async def prune_unattached(ctx: Context, now: datetime) -> int:
    """Retention: images a client app uploaded ([retention] unattached_media_hours ago or more) that no post
    used, with their files. Locked before the re-check, so an attach that commits meanwhile keeps its image
    (and one that comes after waits, then finds the image gone)."""
    cutoff = now - timedelta(hours=ctx.config.retention.unattached_media_hours)
    unattached = ~exists().where(ArtworkImage.asset_id == MediaAsset.id)
    total = 0
    while True:
        async with ctx.transaction(changes_pages=False) as tx:
            ids = list((await tx.session.scalars(
                select(MediaAsset.id).where(MediaAsset.purpose == "artwork", MediaAsset.remote_url.is_(None),
                                            MediaAsset.created_at < cutoff, unattached)
                .order_by(MediaAsset.id).limit(PRUNE_BATCH).with_for_update(skip_locked=True))).all())
            rows = list((await tx.session.scalars(
                select(MediaAsset).where(MediaAsset.id.in_(ids), unattached))).all()) if ids else []
            for asset in rows:
                await delete_asset_files(ctx, tx, asset)
                await tx.session.delete(asset)
        total += len(rows)
        if len(ids) < PRUNE_BATCH:
            return total


async def own_asset(ctx: Context, account: Account, asset_id: int) -> MediaAsset | None:
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, asset_id)
    return asset if asset is not None and asset.account_id == account.id and asset.purpose == "artwork" else None


async def describe(ctx: Context, account: Account, asset_id: int, description: str | None,
                   focus: tuple[float, float] | None = None) -> MediaAsset:
    """New alt text (and focal point) for one of the account's images: on the artwork image once it belongs to
    an artwork (followers' servers get the update), else kept on the asset until an artwork claims it."""
    from cara_fed.errors import NotFound

    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": f"Keep alt text under {MAX_DESCRIPTION} characters."})
    point = _focus(focus)
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.account_id != account.id or asset.purpose != "artwork":
            raise NotFound("No such media.")
        if point is not None:
            asset.focal_x, asset.focal_y = point
            asset.focal_chosen = True
        if description is not None:
            asset.description = description.strip()
            image = await tx.session.scalar(select(ArtworkImage).where(ArtworkImage.asset_id == asset.id))
            if image is not None and image.alt_text != asset.description:
                artwork = await tx.session.get(Artwork, image.artwork_id)  # loads its images, `image` among them
                assert artwork is not None  # (the image row cascades with its artwork)
                before, version = content_of(artwork), artwork_history.snapshot(artwork)
                image.alt_text = asset.description
                if mark_edited(artwork, before, artwork.state == "published"):  # alt text is content
                    await artwork_history.keep(tx.session, artwork, version)
                    emit(ctx, tx, ArtworkUpdated(artwork.id))
    return asset
