"""Artworks: create (1..N images), edit, delete, pin. The only writer of Artwork rows."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime

from sqlalchemy import select

from cara_fed import tasks, urls
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import ArtworkDeleted, ArtworkUpdated, emit
from cara_fed.models import Account, Artwork, ArtworkImage, ArtworkTag, MediaAsset
from cara_fed.models.artworks import VISIBILITIES
from cara_fed.services import account_email, artwork_history, artwork_images, mentions, public_media
from cara_fed.services.artwork_images import ImageEdit
from cara_fed.services.edits import content_of, mark_edited
from cara_fed.services.media import Upload, check_upload, delete_asset_files, store_original
from cara_fed.services.media_pipeline import settle_artworks
from cara_fed.taxonomy import FIELDS, LICENSES, MEDIUMS
from cara_fed.text import parse_tags, render_markdown

MAX_ALT = 1500
MAX_PINNED = 6
MAX_DESCRIPTION = 10_000
MAX_TEXT = MAX_DESCRIPTION  # a client-API status: the title line and the description together


@dataclass
class ArtworkInput:
    title: str
    description: str = ""
    tags: list[str] = dataclass_field(default_factory=list)
    field: str = ""
    medium: str = ""
    software: list[str] = dataclass_field(default_factory=list)
    content_warning: str = ""
    sensitive: bool = False
    license: str = "all-rights-reserved"
    visibility: str = "public"
    noai: bool = True
    cloak: bool = False  # only read on upload: the cloak is made with the derivatives


def validate(data: ArtworkInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "Give the artwork a title."
    elif len(data.title) > 200:
        errors["title"] = "Keep the title under 200 characters."
    if len(data.description) > MAX_DESCRIPTION:
        errors["description"] = f"Keep the description under {MAX_DESCRIPTION:,} characters."
    if data.field and data.field not in FIELDS:
        errors["field"] = f"Unknown field “{data.field}”."
    if data.medium and data.medium not in MEDIUMS:
        errors["medium"] = f"Unknown medium “{data.medium}”."
    if data.license not in LICENSES:
        errors["license"] = "Choose a licence from the list."
    if data.visibility not in VISIBILITIES:
        errors["visibility"] = f"Visibility must be one of: {', '.join(VISIBILITIES)}."
    if len(data.content_warning) > 500:
        errors["content_warning"] = "Keep the content warning under 500 characters."
    return errors


async def _apply(ctx: Context, session, artwork: Artwork, data: ArtworkInput) -> None:  # type: ignore[no-untyped-def]
    artwork.title = data.title.strip()
    artwork.description = data.description
    # @mentions of accounts we know are linked now and kept for the Note's Mention tags (services/mentions.py).
    artwork.description_html, artwork.mentions = await mentions.link(ctx, session, render_markdown(data.description))
    artwork.field, artwork.medium = data.field, data.medium
    artwork.software = [s.strip()[:40] for s in data.software if s.strip()][:10]
    artwork.content_warning = data.content_warning.strip()
    artwork.sensitive = data.sensitive or bool(artwork.content_warning)
    artwork.license, artwork.visibility, artwork.noai = data.license, data.visibility, data.noai
    artwork.tags = [ArtworkTag(tag=t) for t in parse_tags(data.tags)]


async def create_artwork(ctx: Context, account: Account, data: ArtworkInput, uploads: list[Upload]) -> Artwork:
    """Validate everything first, then store originals and queue processing: nothing is half-written."""
    account_email.require_verified(ctx, account)
    errors = validate(data)
    limit = ctx.config.media.max_images_per_artwork
    if not uploads:
        errors["images"] = "Add at least one image."
    elif len(uploads) > limit:
        errors["images"] = f"An artwork can have at most {limit} images."
    for index, upload in enumerate(uploads):
        if len(upload.alt_text) > MAX_ALT:
            errors[f"alt_{index}"] = f"Keep alt text under {MAX_ALT} characters."
    if errors:
        raise ValidationError(errors)
    types = [check_upload(ctx, upload, "images") for upload in uploads]
    if data.cloak:
        from cara_fed.services.cloaking import offered

        allowed, why = offered(ctx)
        if not allowed or why:
            raise ValidationError({"cloak": f"Cloaking is not available on this instance right now: {why or 'off'}"})

    async with ctx.transaction() as tx:
        artwork = Artwork(account_id=account.id, title="", cloak=data.cloak)
        await _apply(ctx, tx.session, artwork, data)
        tx.session.add(artwork)
        for position, (upload, content_type) in enumerate(zip(uploads, types, strict=True)):
            asset = await store_original(ctx, tx, account.id, upload, content_type)
            artwork.images.append(ArtworkImage(asset=asset, position=position, alt_text=upload.alt_text.strip()))
        await tx.session.flush()
    return artwork


@dataclass
class ImportedImage:
    upload: Upload
    content_type: str
    focal: tuple[float, float]
    focal_chosen: bool


async def recreate_artwork(ctx: Context, tx, account: Account, data: ArtworkInput,  # type: ignore[no-untyped-def]
                           images: list[ImportedImage], *, import_id: int, dates: dict[str, datetime | None],
                           ai_label: str | None, ai_label_by: str | None) -> Artwork:
    """A work from a portfolio archive (services/archive_import.py, which checked it whole first), inside the
    caller's transaction: its originals go through the usual pipeline, its dates and protection choices are the
    archive's, and `import_id` keeps it from being announced to followers as a new post (settle_artworks)."""
    artwork = Artwork(account_id=account.id, title="", cloak=data.cloak, import_id=import_id,
                      ai_label=ai_label, ai_label_by=ai_label_by if ai_label else None)
    await _apply(ctx, tx.session, artwork, data)
    artwork.created_at = dates.get("created_at") or utcnow()
    artwork.published_at, artwork.edited_at = dates.get("published_at"), dates.get("edited_at")
    artwork.pinned_at = dates.get("pinned_at")
    tx.session.add(artwork)
    for position, image in enumerate(images):
        asset = await store_original(ctx, tx, account.id, image.upload, image.content_type)
        asset.focal_x, asset.focal_y = image.focal
        asset.focal_chosen = image.focal_chosen
        artwork.images.append(ArtworkImage(asset=asset, position=position, alt_text=image.upload.alt_text.strip()))
    await tx.session.flush()
    return artwork


async def create_from_media(ctx: Context, account: Account, data: ArtworkInput, asset_ids: list[int]) -> Artwork:
    """An artwork from images uploaded earlier (the client API's media_ids): each must be the account's own,
    not yet in any artwork, and not refused by the pipeline. Published once every image is processed (at once
    when they already are)."""
    account_email.require_verified(ctx, account)
    from cara_fed.models import JobImage
    from cara_fed.services.media_pipeline import settle_artworks

    errors = validate(data)
    limit = ctx.config.media.max_images_per_artwork
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        errors["images"] = "Add at least one image."
    elif len(ids) > limit:
        errors["images"] = f"An artwork can have at most {limit} images."
    if errors:
        raise ValidationError(errors)
    async with ctx.transaction() as tx:
        assets = {a.id: a for a in (await tx.session.scalars(select(MediaAsset).where(MediaAsset.id.in_(ids)))).all()}
        claimed = set((await tx.session.scalars(select(ArtworkImage.asset_id).where(
            ArtworkImage.asset_id.in_(ids)))).all()) | set((await tx.session.scalars(select(JobImage.asset_id).where(
                JobImage.asset_id.in_(ids)))).all())
        for asset_id in ids:
            asset = assets.get(asset_id)
            if asset is None or asset.account_id != account.id or asset.purpose != "artwork":
                raise ValidationError({"images": f"Media {asset_id} is not one of your uploads."})
            if asset_id in claimed:
                raise ValidationError({"images": f"Media {asset_id} already belongs to a post."})
            if asset.state == "rejected":
                raise ValidationError({"images": f"Media {asset_id} was refused: {asset.error_message or 'unusable'}"})
        artwork = Artwork(account_id=account.id, title="")
        await _apply(ctx, tx.session, artwork, data)
        tx.session.add(artwork)
        for position, asset_id in enumerate(ids):
            artwork.images.append(ArtworkImage(asset=assets[asset_id], position=position,
                                               alt_text=assets[asset_id].description))
        await tx.session.flush()
        processed = [a for a in assets.values() if a.state == "ready"]
        if processed:
            # Already-made derivatives were stamped with the account's defaults: give them this work's choices,
            # and publish now if nothing is left to process.
            tx.after_commit(ctx.jobs.enqueue, tasks.RESTAMP_ARTWORK, artwork.id)
            tx.after_commit(settle_artworks, ctx, processed[0].id)
    return artwork


async def _owned(session, account: Account, artwork_id: int) -> Artwork:  # type: ignore[no-untyped-def]
    artwork = await session.get(Artwork, artwork_id)
    if artwork is None:
        raise NotFound("No such artwork.")
    if artwork.account_id != account.id:
        raise PermissionDenied("This artwork belongs to someone else.")
    return artwork


FOCUS_ERROR = ("The thumbnail focus must be two numbers from -1 to 1: across (-1 left, 1 right), then up "
               "(1 top, -1 bottom), e.g. -1,1 for the top left.")


def _focus_errors(focus: dict[int, tuple[float, float] | None]) -> dict[str, str]:
    """None: the form's value could not be read as two numbers. Mastodon's focus range is -1..1 on both axes."""
    return {f"focus_{image_id}": FOCUS_ERROR for image_id, point in focus.items()
            if point is None or not all(-1.0 <= value <= 1.0 for value in point)}


def _apply_focus(artwork: Artwork, focus: dict[int, tuple[float, float] | None]) -> None:
    """The artist's focal point per image (image id -> (x, y)): kept through re-processing (focal_chosen).
    Presentation, not content: it goes out with the Update but does not mark the work edited."""
    for image in artwork.images:
        point = focus.get(image.id)
        if point is not None and (image.asset.focal_x, image.asset.focal_y) != point:
            image.asset.focal_x, image.asset.focal_y = point
            image.asset.focal_chosen = True


async def update_artwork(ctx: Context, account: Account, artwork_id: int, data: ArtworkInput,
                         alt_texts: dict[int, str] | None = None, images: ImageEdit | None = None,
                         focus: dict[int, tuple[float, float] | None] | None = None) -> Artwork:
    """Edit the metadata, per-image alt text (image id -> text), per-image thumbnail focus (image id -> (x, y)) and,
    when given, which images the work has (services/artwork_images.py): all in one transaction, so one edit is
    one Update."""
    errors = validate(data) | _focus_errors(focus or {})
    for image_id, text in (alt_texts or {}).items():
        if len(text) > MAX_ALT:
            errors[f"alt_{image_id}"] = f"Keep alt text under {MAX_ALT} characters."
    if images is not None:  # checked before anything is stored: nothing is half-written
        async with ctx.sessions() as session:
            errors |= artwork_images.validate(ctx, await _owned(session, account, artwork_id), images)
    if errors:
        raise ValidationError(errors)
    async with ctx.transaction() as tx:
        artwork = await _owned(tx.session, account, artwork_id)
        marked, before = (artwork.noai, artwork.license), content_of(artwork)
        was_published = artwork.state == "published"
        version = artwork_history.snapshot(artwork)  # what the work showed, should this be an edit
        await _apply(ctx, tx.session, artwork, data)
        if images is not None and await artwork_images.apply(ctx, tx, artwork, images):
            await tx.session.flush()
            # Settle once the new files are processed, or now when none were added (a refused one removed).
            if not images.add:
                tx.after_commit(settle_artworks, ctx, artwork.images[0].asset_id)
        # What the files' XMP says must follow. The re-stamp gives them new keys, so it sends the Update once
        # they have them (also when no file changed): one Update, naming the final URLs.
        restamp = (artwork.noai, artwork.license) != marked
        if restamp:
            tx.after_commit(ctx.jobs.enqueue, tasks.RESTAMP_ARTWORK, artwork.id, True)
        for image in artwork.images:
            if alt_texts and image.id in alt_texts:
                image.alt_text = alt_texts[image.id].strip()
        _apply_focus(artwork, focus or {})
        if mark_edited(artwork, before, was_published):
            await artwork_history.keep(tx.session, artwork, version)  # Mastodon's edit history
        if artwork.state == "published" and not restamp:
            emit(ctx, tx, ArtworkUpdated(artwork.id))
        tx.after_commit(public_media.sync_now, ctx, artwork.id)  # e.g. made followers-only: copies go now
    return artwork


async def delete_artwork(ctx: Context, account: Account, artwork_id: int) -> None:
    async with ctx.transaction() as tx:
        artwork = await _owned(tx.session, account, artwork_id)
        was_published = artwork.state == "published"
        assets = [image.asset for image in artwork.images]
        uri = ctx.url(urls.artwork(account.username, artwork.id))
        for asset in assets:
            await delete_asset_files(ctx, tx, asset)
        await tx.session.delete(artwork)
        for asset in assets:
            await tx.session.delete(asset)
        if was_published:
            emit(ctx, tx, ArtworkDeleted(account.id, uri))


async def set_pinned(ctx: Context, account: Account, artwork_id: int, pinned: bool) -> None:
    async with ctx.transaction() as tx:
        artwork = await _owned(tx.session, account, artwork_id)
        if pinned and artwork.pinned_at is None:
            count = len((await tx.session.scalars(select(Artwork.id).where(
                Artwork.account_id == account.id, Artwork.pinned_at.is_not(None)))).all())
            if count >= MAX_PINNED:
                raise ValidationError({"pinned": f"You can pin up to {MAX_PINNED} works; unpin one first."})
            artwork.pinned_at = utcnow()
        elif not pinned:
            artwork.pinned_at = None
