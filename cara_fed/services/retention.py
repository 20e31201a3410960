"""Retention: finished federation rows are deleted after the ages in [retention], in small batches so that
no delete holds locks for long on a busy database. Rows still waiting (received, pending, retry, paused)
are never touched, whatever their age. Sent account mails and long-expired mailed links go too. Replaced media
files go once their grace period is over, and images kept for a refused upload form (services/upload_drafts.py)
once nobody came back for them. Cached remote media nobody viewed for [retention] remote_media_unviewed_days
loses its files (services/remote_cache.py fetches it again on the next view)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import (
    AccountToken,
    Delivery,
    InboxItem,
    MediaDerivative,
    OutgoingActivity,
    OutgoingMail,
    RetiredMedia,
    ScheduledRun,
)
from cara_fed.services import archive_export, remote_cache, unattached_media, upload_drafts

BATCH = 2000
INBOX_DONE = ("processed", "ignored", "failed")
DELIVERY_DONE = ("sent", "gone", "failed")
SCHEDULE_KEEP = timedelta(days=2)  # claims only matter for the slot at hand


@dataclass
class Pruned:
    inbox_items: int = 0
    deliveries: int = 0
    outgoing_activities: int = 0
    scheduled_runs: int = 0
    replaced_media: int = 0
    upload_drafts: int = 0
    unattached_media: int = 0
    mails: int = 0
    account_tokens: int = 0
    evicted_remote_media: int = 0
    exports: int = 0


async def _delete_in_batches(ctx: Context, model: type, *where: object) -> int:
    total = 0
    while True:
        async with ctx.transaction(changes_pages=False) as tx:
            ids = select(model.id).where(*where).limit(BATCH).scalar_subquery()
            result = await tx.session.execute(delete(model).where(model.id.in_(ids)))
        total += result.rowcount or 0
        if (result.rowcount or 0) < BATCH:
            return total


async def prune(ctx: Context, now: datetime | None = None) -> Pruned:
    now = now or utcnow()
    keep = ctx.config.retention
    pruned = Pruned()
    pruned.inbox_items = await _delete_in_batches(
        ctx, InboxItem, InboxItem.state.in_(INBOX_DONE),
        InboxItem.state_changed_at < now - timedelta(days=keep.inbox_days))
    pruned.deliveries = await _delete_in_batches(
        ctx, Delivery, Delivery.state.in_(DELIVERY_DONE),
        Delivery.state_changed_at < now - timedelta(days=keep.deliveries_days))
    pruned.outgoing_activities = await _delete_in_batches(
        ctx, OutgoingActivity, OutgoingActivity.created_at < now - timedelta(days=keep.outgoing_days),
        ~exists().where(Delivery.activity_id == OutgoingActivity.id))
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(delete(ScheduledRun).where(ScheduledRun.slot < now - SCHEDULE_KEEP))
        pruned.scheduled_runs = result.rowcount or 0
    pruned.replaced_media = await _delete_replaced_media(ctx, now)
    pruned.upload_drafts = await upload_drafts.prune(ctx, now)
    pruned.unattached_media = await unattached_media.prune_unattached(ctx, now)  # client-app uploads no post used
    # Sent or given-up account mails (their bodies are blank already) age like deliveries; mailed links that
    # expired a day ago can only answer "expired" either way.
    pruned.mails = await _delete_in_batches(
        ctx, OutgoingMail, OutgoingMail.state.in_(("sent", "failed")),
        OutgoingMail.state_changed_at < now - timedelta(days=keep.deliveries_days))
    pruned.account_tokens = await _delete_in_batches(ctx, AccountToken,
                                                     AccountToken.expires_at < now - timedelta(days=1))
    pruned.evicted_remote_media = await remote_cache.evict_unviewed(ctx, now)
    pruned.exports = await archive_export.prune_expired(ctx, now)  # portfolio archives past their 7 days
    return pruned


async def _delete_replaced_media(ctx: Context, now: datetime) -> int:
    """Files retired by a re-stamp or re-cloak whose grace is over, or whose asset was deleted. The row goes
    first: a file nobody names is harmless, a row naming a deleted file serves 404s. A key that is current
    again (a re-stamp back to the same bytes gives the same key) keeps its file."""
    total = 0
    while True:
        async with ctx.transaction(changes_pages=False) as tx:
            keys = list((await tx.session.scalars(
                select(RetiredMedia.key).where((RetiredMedia.delete_after < now) | RetiredMedia.asset_id.is_(None))
                .limit(BATCH))).all())
            if not keys:
                return total
            current = set((await tx.session.scalars(
                select(MediaDerivative.key).where(MediaDerivative.key.in_(keys)))).all())
            await tx.session.execute(delete(RetiredMedia).where(RetiredMedia.key.in_(keys)))
        for key in keys:
            if key not in current:
                await ctx.storage.delete("public", key)
                if ctx.config.storage.public_base_url:  # and the store/CDN's copy, if it had one
                    await ctx.storage.delete("published", key)
        total += len(keys)
        if len(keys) < BATCH:
            return total
