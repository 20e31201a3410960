"""Uploads and the protect_media job: private original in, public derivatives out."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from cara_fed import memory, tasks
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.events import ArtworkPublished, ArtworkUpdated, emit
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative, RetiredMedia
from cara_fed.queue import Task
from cara_fed.services import artwork_history, review
from cara_fed.services.edits import content_of, mark_edited
from cara_fed.states import transition
from cara_fed.storage import MediaMissing, content_key, new_key, object_headers
from protection import MediaPolicy, MediaRejected, peak_memory, probe, protect
from protection.cloak import CloakCancelled, CloakError
from protection.mark import StampError, build_xmp, stamp_xmp
from protection.pipeline import CloakHook

log = logging.getLogger(__name__)
PRUNE_BATCH = 200

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)
STUCK_AFTER = timedelta(minutes=10)
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"


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


async def policy_for(ctx: Context, asset: MediaAsset, session) -> MediaPolicy:  # type: ignore[no-untyped-def]
    account = await session.get(Account, asset.account_id)
    artwork = await session.scalar(select(Artwork).join(ArtworkImage).where(ArtworkImage.asset_id == asset.id))
    noai = artwork.noai if artwork is not None else account.noai_default
    license_url = artwork.license if artwork is not None and artwork.license.startswith("http") else None
    year = utcnow().year
    base = base_policy(ctx)
    # A remote work that says it is cloaked keeps the origin's pixels (re-encoding would blur the cloak away).
    keep = artwork is not None and artwork.uri is not None and artwork.cloaked is not None
    return MediaPolicy(max_bytes=base.max_bytes, max_pixels=base.max_pixels, sizes=base.sizes, noai=noai,
                       creator=account.name, copyright=f"© {year} {account.name}", license_url=license_url,
                       digital_source_type=DIGITAL_CREATION if asset.remote_url is None else None,
                       keep_pixels=keep)


def protect_job(asset: MediaAsset) -> Task:
    """Remote media is processed on its own queue, so federated images never delay local uploads."""
    return tasks.PROTECT_REMOTE_MEDIA if asset.remote_url else tasks.PROTECT_MEDIA


async def protect_media(ctx: Context, asset_id: int, cloak: CloakHook | None = None) -> None:
    """Job: run the protection pipeline on one asset. Safe to run twice: acts only on 'uploaded' (or, with a
    cloak hook from services/cloaking.py, on 'cloaking', which it keeps while the cloak runs).

    Decoding is what costs memory, so the job first reserves the image's estimated peak from the process's
    memory budget (cara_fed/media_budget.py) and claims the asset only once it holds that reservation."""
    from cara_fed.services import cloaking

    expected = "cloaking" if cloak is not None else "uploaded"
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != expected:
            return
        if asset.original_key is None:  # remote media not fetched yet: the fetch job queues us again
            if asset.remote_url:
                tx.after_commit(ctx.jobs.enqueue, tasks.FETCH_REMOTE_MEDIA, asset_id)
            return
        if cloak is None and await cloaking.wanted(ctx, tx.session, asset):
            transition(asset, "cloaking")  # its own queue: minutes of CPU must not hold up other uploads
            asset.progress, asset.eta_seconds = 0, None
            tx.after_commit(ctx.jobs.enqueue, tasks.CLOAK_MEDIA, asset_id)
            return
        key, purpose, remote = asset.original_key, asset.purpose, asset.remote_url is not None
    data = await ctx.storage.get("private", key)
    need = await asyncio.to_thread(peak_memory, data, base_policy(ctx))
    async with ctx.media_budget.reserve(need, remote=remote):
        async with ctx.transaction(changes_pages=False) as tx:
            asset = await tx.session.get(MediaAsset, asset_id)
            if asset is None or asset.state != expected or asset.original_key != key:
                return  # a duplicate job got here first
            if cloak is None:
                transition(asset, "processing")
            asset.attempts += 1
            asset.claimed_by = ctx.worker_name
            policy = await policy_for(ctx, asset, tx.session)
        try:
            await _process(ctx, asset_id, data, purpose, policy, cloak)
        finally:
            del data
            await asyncio.to_thread(memory.trim)  # before the reservation ends: the budget is about resident memory


async def _process(ctx: Context, asset_id: int, data: bytes, purpose: str, policy: MediaPolicy,
                   cloak: CloakHook | None) -> None:
    from cara_fed.services import cloaking

    running = "cloaking" if cloak is not None else "processing"
    verdict = None
    try:
        if purpose == "artwork":  # on the original: the pipeline strips the metadata detection reads
            verdict = await review.detect_original(ctx, data)
            policy = review.with_source_type(ctx.config, policy, verdict)
        result = await asyncio.to_thread(protect, data, policy, cloak)
    except MediaRejected as exc:
        async with ctx.transaction() as tx:
            asset = await tx.session.get(MediaAsset, asset_id)
            if asset is not None and asset.state == running:
                transition(asset, "rejected")
                asset.error_code, asset.error_message = exc.code, exc.message
        await settle_artworks(ctx, asset_id)
        return
    except CloakCancelled:
        return  # the artist's cancel already moved the asset to cloak_stopped
    except Exception as exc:
        if cloak is not None:  # a failed cloak is shown to the artist (retry or publish without), never retried blind
            await cloaking.stopped(ctx, asset_id, exc)
            if not isinstance(exc, CloakError):
                log.exception("cloaking media asset %s failed", asset_id)
            return
        log.exception("processing media asset %s failed; the sweep will retry", asset_id)
        async with ctx.transaction() as tx:
            asset = await tx.session.get(MediaAsset, asset_id)
            if asset is not None and asset.state == "processing":
                transition(asset, "uploaded")
        raise

    stored: list[MediaDerivative] = []
    for derivative in result.derivatives:
        suffix = f".{'jpg' if derivative.format == 'jpeg' else derivative.format}"
        public_key = content_key(derivative.data, suffix, salt=f"{asset_id}:{derivative.long_edge}{suffix}")
        await ctx.storage.put("public", public_key, derivative.data, object_headers(public_key, policy.noai))
        stored.append(MediaDerivative(long_edge=derivative.long_edge, format=derivative.format,
                                      content_type=derivative.content_type, width=derivative.width,
                                      height=derivative.height, size=len(derivative.data), key=public_key))
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != running:
            kept = {row.key for row in asset.derivatives} if asset is not None else set()
            for row in stored:  # someone else finished first (or the artist cancelled): drop our copies, not theirs
                if row.key not in kept:
                    await ctx.storage.delete("public", row.key)
            return
        # Same key, same bytes (content-addressed): keep that row; files no new row names (a re-cloak's old
        # derivatives) go once this commits.
        old = {row.key: row for row in asset.derivatives}
        for key in old.keys() - {row.key for row in stored}:
            await retire_public_file(ctx, tx, asset_id, key)
        asset.derivatives = [old.get(row.key, row) for row in stored]
        asset.width, asset.height = result.width, result.height
        asset.blurhash = result.blurhash
        if not asset.focal_chosen:  # the artist's (or app's) point outlives re-stamps and re-cloaks
            asset.focal_x, asset.focal_y = result.focal_point
        asset.report = result.report
        asset.verdict = verdict
        asset.progress, asset.eta_seconds = 100, 0
        transition(asset, "ready")
    await settle_artworks(ctx, asset_id)


async def settle_artworks(ctx: Context, asset_id: int) -> None:
    """Publish an artwork once all its images are ready (unless the AI-provenance policy holds or rejects
    it: services/review.py); mark a local one failed if any image was rejected (the artist re-uploads), a
    remote one only if none could be fetched."""
    async with ctx.transaction() as tx:
        artworks = (await tx.session.scalars(
            select(Artwork).join(ArtworkImage).where(ArtworkImage.asset_id == asset_id))).all()
        for artwork in artworks:
            if artwork.state != "processing":
                continue
            states = {image.asset.state for image in artwork.images}
            if artwork.uri is not None:
                # A remote work keeps the images we could fetch: one dead link or non-image attachment must
                # not hide the rest. So wait for every fetch, then drop the refused (their asset rows stay,
                # with the reason, for the admin).
                if not states <= {"ready", "rejected"}:
                    continue
                if states == {"ready", "rejected"}:
                    artwork.images = [image for image in artwork.images if image.asset.state == "ready"]
                    states = {"ready"}
            if "rejected" in states:
                transition(artwork, "failed")
            elif states == {"ready"}:
                outcome = await review.apply_policy(ctx, tx, artwork)  # published, held or rejected
                transition(artwork, outcome)
                if outcome == "published" and artwork.import_id is not None:
                    # Recreated from a portfolio archive: in the portfolio and outbox with its original date,
                    # but followers are not flooded with years of works as if they were new (no Create).
                    artwork.published_at = artwork.published_at or artwork.created_at
                elif outcome == "published":
                    republished = artwork.published_at is not None  # its images were changed by an edit
                    artwork.published_at = artwork.published_at or utcnow()
                    emit(ctx, tx, ArtworkPublished(artwork.id))  # a no-op if sent
                    if republished and artwork.uri is None:  # followers hold the old Note: update it
                        emit(ctx, tx, ArtworkUpdated(artwork.id))


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


async def restamp_artwork(ctx: Context, artwork_id: int, edited: bool = False) -> int:
    """Job: write the XMP a local work's served files should carry now (after the NoAI choice, the licence or
    the AI label changed) into copies of its derivatives, pixels untouched. A changed file gets a new
    (content-addressed) key, so caches that hold the old one for a year were never lied to; the old objects are
    retired (served a while longer, then deleted), and a published work's followers get an Update with the new
    URLs. `edited`: the edit that queued this changed the Note too and left its Update to this job, so the
    Update goes even when no file changed (one that cannot carry XMP, a missing one): followers get one Update,
    with the final URLs. Returns how many files changed."""
    plans: list[tuple[bytes, bool, list[tuple[int, str, int, int]]]] = []
    async with ctx.sessions() as session:
        artwork = await session.get(Artwork, artwork_id)
        if artwork is None or artwork.uri is not None:
            return 0  # gone, or remote: remote copies keep the origin's markers
        for image in artwork.images:
            asset = image.asset
            if asset.state != "ready" or not asset.derivatives:
                continue
            policy = await policy_for(ctx, asset, session)
            policy = await review.derivative_source_type(session, ctx.config, artwork, policy, asset.verdict)
            plans.append((build_xmp(policy), policy.noai,
                          [(d.id, d.key, asset.id, d.long_edge) for d in asset.derivatives]))
    changed: dict[int, tuple[str, str, int]] = {}  # derivative id -> (old key, new key, size)
    for xmp, noai, derivatives in plans:
        for derivative_id, key, asset_id, long_edge in derivatives:
            try:
                data = await ctx.storage.get("public", key)
            except MediaMissing:
                log.warning("derivative %s is missing from the media store", key)
                continue
            try:
                stamped = stamp_xmp(data, xmp)
            except StampError:
                log.warning("derivative %s cannot carry XMP; left as it is", key)
                continue
            if stamped != data:
                suffix = "." + key.rsplit(".", 1)[-1]
                fresh = content_key(stamped, suffix, salt=f"{asset_id}:{long_edge}{suffix}")
                await ctx.storage.put("public", fresh, stamped, object_headers(fresh, noai))
                changed[derivative_id] = (key, fresh, len(stamped))
    if not changed and not edited:
        return 0
    async with ctx.transaction(changes_pages=bool(changed)) as tx:
        for derivative_id, (old, fresh, size) in changed.items():
            row = await tx.session.get(MediaDerivative, derivative_id)
            if row is None or row.key != old:  # deleted, or restamped by another job meanwhile: ours is spare,
                if row is None or row.key != fresh:  # unless that job wrote the very same bytes (same key)
                    tx.after_commit(ctx.storage.delete, "public", fresh)
                continue
            row.key, row.size = fresh, size
            row.public_copy = None  # the new key has no public copy yet: the ArtworkUpdated below makes it
            await retire_public_file(ctx, tx, row.asset_id, old)
        artwork = await tx.session.get(Artwork, artwork_id)
        if artwork is not None and artwork.state == "published":
            emit(ctx, tx, ArtworkUpdated(artwork_id))
    return len(changed)


def _due(now):  # type: ignore[no-untyped-def]
    """Assets the sweep should queue again: uploads nobody picked up, remote fetches whose back-off (or
    in-flight lease) has run out, and processing that a dead worker left behind."""
    waiting = (MediaAsset.state == "uploaded") & (
        (MediaAsset.next_attempt_at.is_(None) & (MediaAsset.state_changed_at < now - RETRY_AFTER))
        | (MediaAsset.next_attempt_at <= now))
    stuck = (MediaAsset.state == "processing") & (MediaAsset.state_changed_at < now - STUCK_AFTER)
    return waiting | stuck


async def sweep(ctx: Context, *, where=None) -> int:  # type: ignore[no-untyped-def]
    """Periodic job: re-queue uploads nobody picked up and reset ones a dead worker left behind.
    `where` replaces the overdue test (recover_after_restart)."""
    now = utcnow()
    requeue: list[tuple[Task, int]] = []
    async with ctx.transaction() as tx:
        stale = (await tx.session.scalars(select(MediaAsset).where(_due(now) if where is None else where)
                                          .limit(500))).all()
        for asset in stale:
            asset.claimed_by = None
            if asset.state == "cloaking":  # only on recovery: the cloak job picks up its own state
                requeue.append((tasks.CLOAK_MEDIA, asset.id))
                continue
            if asset.state == "processing":
                transition(asset, "uploaded")
            if asset.original_key is None and asset.remote_url:
                asset.next_attempt_at = None  # the fetch job claims it again
                requeue.append((tasks.FETCH_REMOTE_MEDIA, asset.id))
            elif asset.attempts >= MAX_ATTEMPTS:
                transition(asset, "rejected")
                asset.error_code = "processing_failed"
                asset.error_message = "We could not process this image after several tries."
                tx.after_commit(settle_artworks, ctx, asset.id)
            else:
                requeue.append((protect_job(asset), asset.id))
    for job, asset_id in requeue:
        await ctx.jobs.enqueue(job, asset_id)
    return len(stale)


async def recover_after_restart(ctx: Context) -> int:
    """On worker start: whatever this worker's previous run had claimed (processing, or a remote fetch in
    flight) died with it. Queue it again now instead of waiting for the stuck-work timeout."""
    if not ctx.worker_name:
        return 0
    return await sweep(ctx, where=(MediaAsset.claimed_by == ctx.worker_name)
                       & MediaAsset.state.in_(("processing", "uploaded", "cloaking")))


# --- client-API uploads: the image first, the artwork later (Mastodon's media_ids flow) ------------------

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
