"""Recovering media work nobody finished: the periodic sweep re-queues uploads nobody picked up and resets
processing a dead worker left behind (rejecting an image after MAX_ATTEMPTS); on a worker's start, what its
previous run had claimed is queued again at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import MediaAsset
from cara_fed.queue import Task
from cara_fed.services.media_pipeline import protect_job, settle_artworks
from cara_fed.states import transition

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)
STUCK_AFTER = timedelta(minutes=10)


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
