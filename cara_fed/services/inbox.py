"""Received activities: the only writer of InboxItem rows, and the instance policy the inbox applies.

The HTTP edge stores an activity here before answering 202 (one small transaction, a duplicate is a
no-op); the inbox worker then claims it with `begin`, and settles it with `finish` or `retry_later`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import InboxItem
from cara_fed.services.instances import domain_verdict
from cara_fed.states import transition

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=1)
OPEN_STATES = ("received", "retry")


@dataclass(frozen=True)
class Received:
    """What the worker needs of a row, detached from any session."""

    id: int
    activity_id: str
    recipient: str  # "shared" or a local account id
    actor_uri: str
    activity_type: str
    payload: dict
    attempts: int


async def domain_policy(ctx: Context, domain: str) -> str:
    """The admin's policy for a remote domain: accept | silence | suspend (allowlist mode suspends the rest)."""
    async with ctx.sessions() as session:
        return await domain_verdict(session, ctx.config, domain)


async def is_suspended(ctx: Context, domain: str) -> bool:
    return await domain_policy(ctx, domain) == "suspend"


async def _enqueue(ctx: Context, item_id: int) -> None:
    # The row is committed, so a queue hiccup must not turn into an error for the sender: the sweep re-queues.
    try:
        await ctx.jobs.enqueue("process_inbox", item_id)
    except Exception:
        log.exception("could not queue inbox item %s; the sweep will pick it up", item_id)


async def record(ctx: Context, *, activity_id: str, recipient: str, actor_uri: str, activity_type: str,
                 payload: dict) -> int | None:
    """Store a verified activity and queue it. Returns the row id, or None for a duplicate."""
    try:
        async with ctx.transaction(changes_pages=False) as tx:
            item = InboxItem(activity_id=activity_id, recipient=recipient, actor_uri=actor_uri,
                             activity_type=activity_type[:64], payload=payload)
            tx.session.add(item)
            await tx.session.flush()
            item_id = item.id
            tx.after_commit(_enqueue, ctx, item_id)
    except IntegrityError:  # unique (activity_id, recipient): the sender retried or fanned out twice
        return None
    return item_id


async def begin(ctx: Context, item_id: int) -> Received | None:
    """Claim a row for processing: None unless it is still open. Counts the attempt; gives up after 5."""
    async with ctx.transaction(changes_pages=False) as tx:
        item = await tx.session.get(InboxItem, item_id)
        if item is None or item.state not in OPEN_STATES:
            return None
        if item.attempts >= MAX_ATTEMPTS:
            transition(item, "failed")
            item.error = f"gave up after {item.attempts} attempts: {item.error or 'no reason recorded'}"
            return None
        item.attempts += 1
        return Received(item.id, item.activity_id, item.recipient, item.actor_uri, item.activity_type,
                        item.payload, item.attempts)


async def finish(ctx: Context, item_id: int, state: str, reason: str | None = None) -> None:
    """Settle a row as processed, ignored or failed, keeping the reason."""
    async with ctx.transaction(changes_pages=False) as tx:
        item = await tx.session.get(InboxItem, item_id)
        if item is None or item.state not in OPEN_STATES:
            return
        transition(item, state)
        item.error = reason[:2000] if reason else None


async def retry_later(ctx: Context, item_id: int, reason: str) -> str:
    """A transient failure: mark for retry (the sweep re-queues it), or failed after MAX_ATTEMPTS."""
    async with ctx.transaction(changes_pages=False) as tx:
        item = await tx.session.get(InboxItem, item_id)
        if item is None or item.state not in OPEN_STATES:
            return "gone"
        state = "failed" if item.attempts >= MAX_ATTEMPTS else "retry"
        transition(item, state)
        item.error = (reason if state == "retry" else f"gave up after {item.attempts} attempts: {reason}")[:2000]
        return state


async def claim_overdue(ctx: Context, older_than: timedelta = RETRY_AFTER, limit: int = 500) -> list[int]:
    """Ids of open rows untouched for `older_than`; their clock is restarted so the next sweep skips them
    while they wait in the queue."""
    now = utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        ids = list((await tx.session.scalars(
            select(InboxItem.id).where(InboxItem.state.in_(OPEN_STATES), InboxItem.state_changed_at < now - older_than)
            .order_by(InboxItem.id).limit(limit))).all())
        if ids:
            await tx.session.execute(update(InboxItem).where(InboxItem.id.in_(ids)).values(state_changed_at=now))
    return ids
