"""The protect_media job: a stored original through the protection pipeline (protection/: sanitize, detect,
mark, cloak) into public derivatives, and the artworks published once all their images are ready."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from cara_fed import memory, tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.events import ArtworkPublished, ArtworkUpdated, emit
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative
from cara_fed.queue import Task
from cara_fed.services import review
from cara_fed.services.media import base_policy, retire_public_file
from cara_fed.states import transition
from cara_fed.storage import content_key, object_headers
from protection import MediaPolicy, MediaRejected, peak_memory, protect
from protection.cloak import CloakCancelled, CloakError
from protection.pipeline import CloakHook

log = logging.getLogger(__name__)
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"


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
