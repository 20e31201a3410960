"""Our cached copies of other servers' images: when they were last viewed, eviction of the ones nobody views
([retention] remote_media_unviewed_days), and fetching an evicted one again when someone does.

Eviction deletes the files (public derivatives and the private original) but keeps the asset and its
derivative rows, so every page, API entity and follower's copy that names a URL keeps naming the same URL.
A request for an evicted file queues `refetch_remote_media` (remote-media queue; federation/inbound/media_fetch.py),
which downloads the origin's image again through the same guarded fetch and runs the same protection pipeline
(sanitize, re-encode, XMP; a work the origin marks cloaked keeps the origin's pixels) and writes each
derivative back under its old key. The origin's image is the same picture, so a year of `immutable` caching of
the old bytes stays harmless even if an encoder changed a byte.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import MediaAsset, MediaDerivative
from cara_fed.services import review
from cara_fed.services.media import base_policy
from cara_fed.services.media_pipeline import policy_for
from cara_fed.storage import content_key, new_key, object_headers
from protection import MediaRejected, peak_memory, protect

log = logging.getLogger(__name__)

VIEW_EVERY = timedelta(hours=1)  # last_viewed_at is coarse: one write per asset an hour, not one per view
BATCH = 200
REFETCH_LEASE = timedelta(minutes=2)  # longer than a fetch may take; then another request may try again
RETRY_TRANSIENT = timedelta(minutes=1)  # origin down or slow: the next view after this tries again
RETRY_PERMANENT = timedelta(days=1)  # origin answers 404, or no longer an image: don't ask on every view


@dataclass(frozen=True)
class Evicted:
    asset_id: int
    retry_at: datetime | None  # a fetch in flight or backing off until then
    failed: bool = False  # the last fetch failed (retry_at: when the next may try)


async def mark_viewed(ctx: Context, asset_id: int, now: datetime | None = None) -> bool:
    """Remember that a remote asset was served; a no-op (no row written) within VIEW_EVERY of the last mark."""
    now = now or utcnow()
    stale = MediaAsset.last_viewed_at.is_(None) | (MediaAsset.last_viewed_at < now - VIEW_EVERY)
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(
            update(MediaAsset).where(MediaAsset.id == asset_id, MediaAsset.remote_url.is_not(None), stale)
            .values(last_viewed_at=now).execution_options(synchronize_session=False))
    return (result.rowcount or 0) == 1


def _unviewed(cutoff: datetime):  # type: ignore[no-untyped-def]
    """Fetched, processed and not viewed since `cutoff` (never viewed: counted from when it became ready)."""
    return (MediaAsset.remote_url.is_not(None) & (MediaAsset.state == "ready") & MediaAsset.evicted_at.is_(None)
            & ((MediaAsset.last_viewed_at < cutoff)
               | (MediaAsset.last_viewed_at.is_(None) & (MediaAsset.state_changed_at < cutoff))))


async def evict_unviewed(ctx: Context, now: datetime | None = None) -> int:
    """Retention: delete the files of remote media nobody viewed for [retention] remote_media_unviewed_days.
    The row is marked first and the files go after commit: a crash in between leaves files nobody needs (the
    next fetch overwrites them), never a row that names deleted files without knowing it."""
    days = ctx.config.retention.remote_media_unviewed_days
    if days <= 0:
        return 0
    now = now or utcnow()
    total = 0
    while True:
        async with ctx.transaction(changes_pages=False) as tx:
            assets = list((await tx.session.scalars(
                select(MediaAsset).where(_unviewed(now - timedelta(days=days))).limit(BATCH))).all())
            for asset in assets:
                files = [("public", d.key) for d in asset.derivatives]
                files += [("private", asset.original_key)] if asset.original_key else []
                for area, key in files:
                    tx.after_commit(ctx.storage.delete, area, key)
                asset.evicted_at, asset.original_key = now, None
                asset.next_attempt_at = asset.claimed_by = None
                asset.error_code = asset.error_message = None
        total += len(assets)
        if len(assets) < BATCH:
            return total


async def evicted(ctx: Context, key: str) -> Evicted | None:
    """The evicted asset a public key belongs to, or None (unknown key, or not evicted: truly missing)."""
    async with ctx.sessions() as session:
        row = (await session.execute(
            select(MediaAsset.id, MediaAsset.next_attempt_at, MediaAsset.error_code).join(MediaDerivative)
            .where(MediaDerivative.key == key, MediaAsset.evicted_at.is_not(None)))).first()
    if row is None:
        return None
    asset_id, retry_at, error = row
    if retry_at is None or retry_at <= utcnow():
        return Evicted(asset_id, None)
    return Evicted(asset_id, retry_at, failed=error is not None)


async def request_refetch(ctx: Context, asset_id: int) -> None:
    """Queue the fetch on the remote-media queue (duplicates are harmless: the job claims the row)."""
    await ctx.jobs.enqueue(tasks.REFETCH_REMOTE_MEDIA, asset_id)


async def claim_refetch(ctx: Context, asset_id: int) -> str | None:
    """The origin URL, if this job may fetch the evicted asset now (none in flight elsewhere, not backing off)."""
    now = utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        claimed = await tx.session.execute(
            update(MediaAsset)
            .where(MediaAsset.id == asset_id, MediaAsset.evicted_at.is_not(None), MediaAsset.state == "ready",
                   MediaAsset.remote_url.is_not(None),
                   MediaAsset.next_attempt_at.is_(None) | (MediaAsset.next_attempt_at <= now))
            .values(next_attempt_at=now + REFETCH_LEASE, claimed_by=ctx.worker_name)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return None
        return await tx.session.scalar(select(MediaAsset.remote_url).where(MediaAsset.id == asset_id))


async def refetch_failed(ctx: Context, asset_id: int, code: str, message: str, *, permanent: bool) -> None:
    """The asset stays evicted (its rows and URLs are kept; the origin may serve it again later); views
    meanwhile get 503 with Retry-After until the back-off ends."""
    log.warning("fetching evicted remote media %s again failed (%s): %s", asset_id, code, message)
    async with ctx.transaction(changes_pages=False) as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.evicted_at is None:
            return
        asset.next_attempt_at = utcnow() + (RETRY_PERMANENT if permanent else RETRY_TRANSIENT)
        asset.claimed_by = None
        asset.error_code, asset.error_message = code, message[:500]


async def restore(ctx: Context, asset_id: int, data: bytes, content_type: str) -> bool:
    """The job hands over the origin's bytes again: same policy, same pipeline as the first fetch (detection's
    verdict is kept from then), each derivative written back under the key its row names."""
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, asset_id)
        if asset is None or asset.evicted_at is None:
            return False
        policy = review.with_source_type(ctx.config, await policy_for(ctx, asset, session), asset.verdict)
        keys = {(d.long_edge, d.format): d.key for d in asset.derivatives}
    need = await asyncio.to_thread(peak_memory, data, base_policy(ctx))
    try:
        async with ctx.media_budget.reserve(need, remote=True):
            result = await asyncio.to_thread(protect, data, policy, None)
    except MediaRejected as exc:
        await refetch_failed(ctx, asset_id, exc.code, exc.message, permanent=True)
        return False
    original = new_key()
    await ctx.storage.put("private", original, data)
    added: list[MediaDerivative] = []
    for derivative in result.derivatives:
        suffix = f".{'jpg' if derivative.format == 'jpeg' else derivative.format}"
        key = keys.get((derivative.long_edge, derivative.format))
        if key is None:  # a size the first run did not make (settings changed since): a new row and key
            key = content_key(derivative.data, suffix, salt=f"{asset_id}:{derivative.long_edge}{suffix}")
            added.append(MediaDerivative(long_edge=derivative.long_edge, format=derivative.format,
                                         content_type=derivative.content_type, width=derivative.width,
                                         height=derivative.height, size=len(derivative.data), key=key))
        await ctx.storage.put("public", key, derivative.data, object_headers(key, policy.noai))
    async with ctx.transaction(changes_pages=bool(added)) as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.evicted_at is None:  # deleted meanwhile, or another job restored it first
            tx.after_commit(ctx.storage.delete, "private", original)
            if asset is None:  # its files went with the row before we wrote ours
                for key in [*keys.values(), *(row.key for row in added)]:
                    tx.after_commit(ctx.storage.delete, "public", key)
            return False
        asset.derivatives.extend(added)
        asset.original_key, asset.original_type, asset.original_size = original, content_type, len(data)
        asset.evicted_at = asset.next_attempt_at = asset.claimed_by = None
        asset.error_code = asset.error_message = None
        asset.last_viewed_at = utcnow()  # a view asked for it
    log.info("evicted remote media %s fetched again (%s files)", asset_id, len(result.derivatives))
    return True
