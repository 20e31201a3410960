"""Cloaking: who is cloaked, the cloak_media job (progress, cancel, retry), and publishing without it.

The job runs the ordinary protection pipeline with a hook that cloaks the image at its largest served size
(protection/cloak) before any derivative is made, so only cloaked files are ever public; the original stays
private as always. The artwork is published only once every image is ready.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from datetime import timedelta

from PIL import Image
from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset
from cara_fed.states import transition
from protection.cloak import CloakCancelled, CloakError, CloakSettings, Engine, get_engine, panel

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between progress writes (and cancel checks)
STUCK_AFTER = timedelta(minutes=15)  # no progress for this long: the worker died; queue it again


def engine_for(ctx: Context) -> Engine:
    c = ctx.config.cloak
    return get_engine(c.engine, command=c.external_command, timeout=c.external_timeout_seconds,
                      concurrency=c.external_concurrency, version=c.external_version)


def offered(ctx: Context) -> tuple[bool, str | None]:
    """(whether artists may turn cloaking on here, why not)."""
    if ctx.config.cloak.engine == "none":
        return False, "This instance does not offer cloaking."
    return True, engine_for(ctx).unavailable_reason()


def settings_for(ctx: Context, asset_id: int) -> CloakSettings:
    c = ctx.config.cloak
    return CloakSettings(seed=c.seed + asset_id, steps=c.steps, target_psnr=float(c.target_psnr), threads=c.threads,
                         measure=c.measure, served_quality=85)


async def wanted(ctx: Context, session, asset: MediaAsset) -> bool:  # type: ignore[no-untyped-def]
    """A local artwork image whose artist asked for the cloak; or, if the admin chose so, our cached copy of
    a remote NoAI work its origin did not cloak."""
    if asset.purpose != "artwork" or ctx.config.cloak.engine == "none":
        return False
    artwork = await session.scalar(select(Artwork).join(ArtworkImage).where(ArtworkImage.asset_id == asset.id))
    if artwork is None:
        return False
    if artwork.uri is None:
        return artwork.cloak
    return ctx.config.cloak.inbound_noai and artwork.noai and artwork.cloaked is None


async def cloak_media(ctx: Context, asset_id: int) -> None:
    """Job (cloak queue): cloak one image and make its derivatives. Acts only on 'cloaking'."""
    engine = engine_for(ctx)
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != "cloaking":
            return
        asset.progress, asset.eta_seconds = 0, None
        asset.state_changed_at = utcnow()  # the heartbeat the sweep reads
        artwork = await tx.session.scalar(
            select(Artwork).join(ArtworkImage).where(ArtworkImage.asset_id == asset_id))
        if artwork is not None and artwork.uri is None:
            # What the served files will carry (federated as cara:cloaked once the work is published).
            artwork.cloaked = {"engine": engine.name, "version": engine.version}
    settings = settings_for(ctx, asset_id)
    loop = asyncio.get_running_loop()
    last = [0.0]

    def progress(fraction: float, eta: float | None) -> None:  # in the pipeline's thread
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and fraction < 1:
            return
        last[0] = now
        future = asyncio.run_coroutine_threadsafe(_record_progress(ctx, asset_id, fraction, eta), loop)
        if not future.result(timeout=60):
            raise CloakCancelled()

    def hook(image: Image.Image) -> tuple[Image.Image, dict]:
        mode = image.mode
        buf = io.BytesIO()
        image.save(buf, "PNG", compress_level=1)
        clean = buf.getvalue()
        result = engine.cloak(clean, settings, progress)
        cloaked = Image.open(io.BytesIO(result.data))
        cloaked.load()
        if cloaked.mode != mode:
            cloaked = cloaked.convert(mode)
        report = dict(result.report)
        if settings.measure:
            report["panel"] = panel(clean, result.data, settings)
        return cloaked, report

    from cara_fed.services.media_pipeline import protect_media

    await protect_media(ctx, asset_id, cloak=hook)


async def _record_progress(ctx: Context, asset_id: int, fraction: float, eta: float | None) -> bool:
    """Write percent and ETA; False if the asset is no longer cloaking (the artist cancelled)."""
    async with ctx.transaction(changes_pages=False) as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != "cloaking":
            return False
        asset.progress = max(0, min(99, int(fraction * 100)))
        asset.eta_seconds = None if eta is None else int(eta)
        asset.state_changed_at = utcnow()
        return True


async def stopped(ctx: Context, asset_id: int, exc: BaseException) -> None:
    """The engine failed: stop visibly, with the reason, so the artist can retry or publish without."""
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != "cloaking":
            return
        transition(asset, "cloak_stopped")
        if isinstance(exc, CloakError):
            asset.error_code, asset.error_message = exc.code, f"Cloaking failed: {exc.message}"
        else:
            asset.error_code, asset.error_message = "cloak_crashed", "Cloaking failed because of an internal error."


async def _own_assets(session, account: Account, artwork_id: int) -> tuple[Artwork, list[MediaAsset]]:  # type: ignore[no-untyped-def]
    artwork = await session.get(Artwork, artwork_id)
    if artwork is None:
        raise NotFound("No such artwork.")
    if artwork.account_id != account.id:
        raise PermissionDenied("This artwork belongs to someone else.")
    return artwork, [image.asset for image in artwork.images]


async def cancel(ctx: Context, account: Account, artwork_id: int) -> int:
    """Stop cloaking this work's images (a running job stops at its next progress check)."""
    async with ctx.transaction() as tx:
        _, assets = await _own_assets(tx.session, account, artwork_id)
        count = 0
        for asset in assets:
            if asset.state == "cloaking":
                transition(asset, "cloak_stopped")
                asset.error_code, asset.error_message = "cancelled", "You cancelled cloaking."
                count += 1
    if not count:
        raise ValidationError({"cloak": "Nothing is being cloaked for this work."})
    return count


async def retry(ctx: Context, account: Account, artwork_id: int) -> int:
    async with ctx.transaction() as tx:
        _, assets = await _own_assets(tx.session, account, artwork_id)
        ids = []
        for asset in assets:
            if asset.state == "cloak_stopped":
                transition(asset, "cloaking")
                asset.error_code = asset.error_message = None
                asset.progress, asset.eta_seconds = 0, None
                ids.append(asset.id)
        for asset_id in ids:
            tx.after_commit(ctx.jobs.enqueue, tasks.CLOAK_MEDIA, asset_id)
    if not ids:
        raise ValidationError({"cloak": "There is no stopped cloaking to retry."})
    return len(ids)


async def publish_uncloaked(ctx: Context, account: Account, artwork_id: int) -> int:
    """The artist's explicit choice after a cancel or failure: process the images without the cloak."""
    async with ctx.transaction() as tx:
        artwork, assets = await _own_assets(tx.session, account, artwork_id)
        stopped_assets = [a for a in assets if a.state == "cloak_stopped"]
        if not stopped_assets or any(a.state == "cloaking" for a in assets):
            raise ValidationError({"cloak": "Cancel cloaking first; then you can publish without it."})
        artwork.cloak, artwork.cloaked = False, None
        for asset in stopped_assets:
            transition(asset, "uploaded")
            asset.error_code = asset.error_message = None
            tx.after_commit(ctx.jobs.enqueue, tasks.PROTECT_MEDIA, asset.id)
    return len(stopped_assets)


async def sweep(ctx: Context) -> int:
    """Periodic: queue again cloaking jobs whose worker stopped reporting progress."""
    async with ctx.sessions() as session:
        ids = list((await session.scalars(select(MediaAsset.id).where(
            MediaAsset.state == "cloaking", MediaAsset.state_changed_at < utcnow() - STUCK_AFTER).limit(100))).all())
    for asset_id in ids:
        await ctx.jobs.enqueue(tasks.CLOAK_MEDIA, asset_id)
    return len(ids)
