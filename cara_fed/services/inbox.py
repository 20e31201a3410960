"""Received activities: the only writer of InboxItem rows, and the instance policy the inbox applies.

The HTTP edge stores an activity here before answering 202 (group-committed with concurrent ones, a
duplicate is a no-op); the inbox worker then claims it with `begin`, and settles it with `finish` or
`retry_later`. Inside `claimed_batch(ctx, ids)` those three act on rows claimed together in one
transaction, and the outcomes are written together in one more when the block ends (two transactions per
batch instead of two per row; the per-row code path is the same).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, literal_column, or_, select, update

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.db_sqlite import COMMIT_WITH_STATEMENT
from cara_fed.models import InboxItem
from cara_fed.services.inbox_batch import INBOX_ROWS_ONLY, NewItem, batcher_for
from cara_fed.services.instances import domain_verdict
from cara_fed.states import IllegalTransition, can_transition, transition

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


async def record(ctx: Context, *, activity_id: str, recipient: str, actor_uri: str, activity_type: str,
                 payload: dict) -> int | None:
    """Store a verified activity and queue it. Returns the row id, or None for a duplicate.

    Concurrent calls share one transaction (group commit, `inbox_batch`); this returns once the row is
    committed and its batch's job queued. Raises `BatchFailed` when the batch could not be committed."""
    item = NewItem(activity_id, recipient, actor_uri, activity_type, payload)
    return await batcher_for(ctx).record(item)


async def begin(ctx: Context, item_id: int) -> Received | None:
    """Claim a row for processing: None unless it is still open. Counts the attempt; gives up after 5."""
    claim = _CLAIM.get()
    if claim is not None and item_id in claim.requested:
        return claim.take(item_id)
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
    claim = _CLAIM.get()
    if claim is not None and item_id in claim.requested:
        claim.settle(item_id, state, reason)
        return
    async with ctx.transaction(changes_pages=False) as tx:
        item = await tx.session.get(InboxItem, item_id)
        if item is None or item.state not in OPEN_STATES:
            return
        transition(item, state)
        item.error = reason[:2000] if reason else None


async def retry_later(ctx: Context, item_id: int, reason: str) -> str:
    """A transient failure: mark for retry (the sweep re-queues it), or failed after MAX_ATTEMPTS."""
    claim = _CLAIM.get()
    if claim is not None and item_id in claim.requested:
        if item_id not in claim.rows or item_id in claim.outcomes:
            return "gone"
        attempts = claim.rows[item_id].attempts
        state = "failed" if attempts >= MAX_ATTEMPTS else "retry"
        claim.settle(item_id, state, reason if state == "retry" else f"gave up after {attempts} attempts: {reason}")
        return state
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


# --- many rows at once (the inbox worker's batch job) -------------------------------------------------------


@dataclass
class _Claim:
    requested: set[int]
    rows: dict[int, Received]  # claimed (open, attempt counted), in the order asked for
    states: dict[int, str]  # their state when claimed
    begun: set[int] = field(default_factory=set)
    outcomes: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    def take(self, item_id: int) -> Received | None:
        if item_id not in self.rows or item_id in self.begun:
            return None  # not open, given up, or already handed out
        self.begun.add(item_id)
        return self.rows[item_id]

    def settle(self, item_id: int, state: str, reason: str | None) -> None:
        if item_id not in self.rows or item_id in self.outcomes:
            return
        if not can_transition("InboxItem", self.states[item_id], state):
            raise IllegalTransition(f"InboxItem {item_id}: {self.states[item_id]} -> {state} is not allowed")
        self.outcomes[item_id] = (state, reason[:2000] if reason else None)


_CLAIM: ContextVar[_Claim | None] = ContextVar("inbox_claim", default=None)


@asynccontextmanager
async def claimed_batch(ctx: Context, item_ids: Iterable[int], ahead: int = 0) -> AsyncIterator[list[int]]:
    """Claim the open rows among `item_ids` in one transaction (counting the attempt, giving up after 5) and
    yield their ids; `begin`/`finish`/`retry_later` on them inside the block use the claim, and the outcomes
    are written in one transaction at its end (rows left unsettled stay open for the sweep). Rows another
    batch holds are skipped. `ahead` > 0 also claims up to that many received rows no batch has touched yet
    (oldest first; then every row is yielded in id order)."""
    requested = list(dict.fromkeys(int(item_id) for item_id in item_ids))
    claim = await _claim_many(ctx, requested, ahead)
    token = _CLAIM.set(claim)
    try:
        yield list(claim.rows)
    finally:
        _CLAIM.reset(token)
        await _settle_many(ctx, claim)


def claimed_rows() -> list[Received]:
    """Inside `claimed_batch`: the claimed rows, in the order asked for (so the worker can read ahead)."""
    claim = _CLAIM.get()
    return list(claim.rows.values()) if claim is not None else []


def _not_in_hand(table, now):  # type: ignore[no-untyped-def]
    """A row another batch has claimed and not settled yet (attempt counted, clock restarted less than
    RETRY_AFTER ago) is in hand: a second claim would process it twice. Rows left by a dead worker are
    claimable again after RETRY_AFTER (and the sweep re-queues them then)."""
    return or_(table.c.attempts == 0, table.c.state == literal_column("'retry'"),
               table.c.state_changed_at < now - RETRY_AFTER)


async def _claim_many(ctx: Context, item_ids: list[int], ahead: int = 0) -> _Claim:
    table = InboxItem.__table__
    now = utcnow()
    open_rows = (table.c.id.in_(item_ids), table.c.state.in_(OPEN_STATES), _not_in_hand(table, now))
    returned = (table.c.id, table.c.activity_id, table.c.recipient, table.c.actor_uri, table.c.activity_type,
                table.c.payload, table.c.attempts, table.c.state)
    async with ctx.transaction(changes_pages=False) as tx:
        # (every statement below writes first: no read-then-write)
        connection = await tx.session.connection(execution_options={INBOX_ROWS_ONLY: True})
        spent = (await connection.execute(
            update(table).where(*open_rows, table.c.attempts >= MAX_ATTEMPTS).values(state="failed",
                                                                                     state_changed_at=now)
            .returning(table.c.id, table.c.attempts, table.c.error))).all()
        if spent:
            await connection.execute(update(table).where(table.c.id == bindparam("row_id")).values(
                error=bindparam("message")), [{"row_id": row.id, "message": (
                    f"gave up after {row.attempts} attempts: {row.error or 'no reason recorded'}")[:2000]}
                    for row in spent])
        last = {COMMIT_WITH_STATEMENT: True}  # the write lock is let go in the last statement's hop (SQLite)
        found = {row.id: row for row in (await connection.execute(
            update(table).where(*open_rows, table.c.attempts < MAX_ATTEMPTS)
            .values(attempts=table.c.attempts + 1, state_changed_at=now)  # in hand: the sweep leaves it a minute
            .returning(*returned), execution_options=last if ahead <= 0 else {})).all()}
        extra: dict[int, Any] = {}
        if ahead > 0:
            # Read ahead: received rows no batch has touched yet (their own jobs are still queued; they find
            # them in hand, or done, and skip them). One big batch instead of many tiny ones under load.
            waiting = (select(table.c.id).where(table.c.state == literal_column("'received'"),
                                                table.c.attempts == 0, table.c.id.not_in(item_ids))
                       .order_by(table.c.id).limit(ahead)
                       # PostgreSQL: rows another claim is locking are left to it (waiting could deadlock)
                       .with_for_update(skip_locked=True).scalar_subquery())
            extra = {row.id: row for row in (await connection.execute(
                update(table).where(table.c.id.in_(waiting), table.c.state == literal_column("'received'"),
                                    table.c.attempts == 0)
                .values(attempts=1, state_changed_at=now).returning(*returned), execution_options=last)).all()}
    order = sorted({*item_ids, *extra}) if extra else item_ids  # by id: each sender's activities in order
    everything = {**found, **extra}
    rows = {item_id: Received(row.id, row.activity_id, row.recipient, row.actor_uri, row.activity_type, row.payload,
                              row.attempts) for item_id in order if (row := everything.get(item_id)) is not None}
    return _Claim(set(item_ids) | set(extra), rows, {row.id: row.state for row in everything.values()})


async def _settle_many(ctx: Context, claim: _Claim) -> None:
    if not claim.outcomes:
        return
    table, now = InboxItem.__table__, utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        connection = await tx.session.connection(execution_options={INBOX_ROWS_ONLY: True})
        await connection.execute(
            # (executemany: the open states as SQL literals, an IN list would be an expanding parameter)
            update(table).where(table.c.id == bindparam("row_id"),
                                or_(*(table.c.state == literal_column(f"'{state}'") for state in OPEN_STATES)))
            .values(state=bindparam("new_state"), error=bindparam("reason"), state_changed_at=now),
            [{"row_id": item_id, "new_state": state, "reason": reason}
             for item_id, (state, reason) in claim.outcomes.items()],
            execution_options={COMMIT_WITH_STATEMENT: True})
