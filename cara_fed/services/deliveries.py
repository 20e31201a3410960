"""Outgoing activities and their deliveries: the only writer of OutgoingActivity and Delivery rows and of
the delivery-health columns of Instance (circuit breaker).

A delivery is a row with a state (cara_fed/states.py): pending -> sent | gone | failed | retry | paused.
The row holds the retry schedule, so retries survive restarts; `sweep` re-queues what is due. Every state
change is a conditional UPDATE (compare-and-set against the declared machine), so a duplicate job, a sweep
racing a worker or two worker processes can never move a row twice or backwards. Every write transaction
here starts with a write, never a read: on SQLite a read-then-write transaction can fail with
SQLITE_BUSY_SNAPSHOT when another connection commits in between; a leading write takes the lock first.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from cara_fed import metrics, tasks
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.models import Account, Delivery, Instance, OutgoingActivity
from cara_fed.request_context import current_request_id
from cara_fed.services.remote import domain_of
from cara_fed.states import MACHINES

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(days=1)
MAX_ATTEMPTS = 10  # 30 s x 2^n: the 10th attempt is ~4 h after the 9th, ~8.5 h after the first
BREAKER_THRESHOLD = 5  # consecutive failed rounds before a domain is paused
PAUSE_BASE = timedelta(minutes=10)
PAUSE_CAP = timedelta(days=1)
LEASE = timedelta(minutes=2)  # a claimed row is in flight: the sweep leaves it alone this long (at least)
PENDING_GRACE = timedelta(minutes=1)  # new rows whose job is still queued are not re-queued by the sweep
# Deliveries per `deliver` job. A job sends its batch concurrently on the event loop while a huey thread
# waits for it, so one job carries a 500-instance fan-out at full speed (bench/fanout.py); bigger
# fan-outs are spread over several jobs, threads and worker processes.
BATCH = 500
SWEEP_LIMIT = 5000
ACTIVE = ("pending", "retry")


def _sources(new: str) -> tuple[str, ...]:
    """States a delivery may move to `new` from, as declared in cara_fed/states.py."""
    return tuple(state for state, targets in MACHINES["Delivery"].items() if new in targets)


def _move(new: str, now: datetime, *where: Any, **values: Any) -> Any:
    """A compare-and-set state change (Core, so it also runs as one executemany for a whole batch)."""
    allowed = or_(*(Delivery.state == state for state in _sources(new)))  # not IN: executemany refuses it
    return (update(Delivery.__table__).where(*where, allowed)
            .values(state=new, state_changed_at=now, **values))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    return (ids[i:i + BATCH] for i in range(0, len(ids), BATCH))


def _enqueue_after(ctx: Context, tx: Transaction, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        tx.after_commit(ctx.jobs.enqueue, tasks.DELIVER, *chunk)


def _insert_ignore(ctx: Context, model: type) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on both supported databases."""
    if ctx.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model)


def serialize(activity: dict) -> str:
    """The exact text we store, sign and send (compact, UTF-8)."""
    return json.dumps(activity, ensure_ascii=False, separators=(",", ":"))


async def record_outgoing(ctx: Context, tx: Transaction, actor: Account, activity: dict, *, inboxes: list[str],
                          artwork_id: int | None = None, since: datetime | None = None) -> OutgoingActivity | None:
    """Store `activity` once and one Delivery per distinct inbox; queue the deliveries after commit.

    Idempotent per activity id: a second call with the same `activity["id"]` writes and queues nothing and
    returns None, as does a call with no remote inbox. `since`: an activity recorded under the same id
    before this time belongs to an earlier event that reused the id, and is replaced. Call it first in a
    transaction (see the module note).
    """
    own = ctx.config.server.domain.lower()
    targets = sorted({url for url in inboxes if url and domain_of(url) not in ("", own)},
                     key=lambda url: (domain_of(url), url))
    if not targets:
        return None
    now = utcnow()
    if since is not None:
        await tx.session.execute(delete(OutgoingActivity.__table__).where(
            OutgoingActivity.uri == activity["id"], OutgoingActivity.created_at < since))
    row_id = await tx.session.scalar(
        _insert_ignore(ctx, OutgoingActivity).values(
            uri=activity["id"], activity_type=str(activity.get("type", "")), actor_id=actor.id, artwork_id=artwork_id,
            body=serialize(activity), created_at=now, request_id=current_request_id())
        .on_conflict_do_nothing(index_elements=["uri"])
        .returning(OutgoingActivity.id))
    if row_id is None:
        return None  # recorded before: this is a repeated job
    # Sorted by domain, so one slow instance's inboxes share a batch instead of slowing every batch.
    ids = list(await tx.session.scalars(insert(Delivery).returning(Delivery.id, sort_by_parameter_order=True), [
        {"activity_id": row_id, "inbox_url": url, "domain": domain_of(url), "state": "pending", "attempts": 0,
         "state_changed_at": now, "next_attempt_at": now, "created_at": now} for url in targets]))
    _enqueue_after(ctx, tx, ids)
    return await tx.session.get(OutgoingActivity, row_id)


# --- one attempt: claim, then settle ------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery, with everything needed to sign and send it."""

    delivery_id: int
    inbox_url: str
    domain: str
    body: str
    attempt: int  # 1 for the first try
    actor: Account
    request_id: str | None = None  # the request that caused the activity (sent as X-Request-Id, logged)


@dataclass(frozen=True)
class Outcome:
    """What an attempt ended with. state: sent | gone | failed | retry. health: "up" when the instance
    answered (any HTTP status but 5xx), "down" for 5xx/timeouts/connection errors (counts toward the
    circuit breaker), "" when nothing was learned about the instance."""

    delivery_id: int
    domain: str
    state: str
    attempt: int
    status: int | None = None
    error: str | None = None
    health: str = ""
    retry_after: float | None = None  # seconds the peer asked us to wait (429/503 Retry-After)


async def claim(ctx: Context, ids: list[int], lease: timedelta = LEASE) -> list[Attempt]:
    """Take the due ones of `ids` for one attempt each. Rows for a paused domain go to paused and rows for
    a suspended domain fail, without sending; sent, gone, failed, paused and in-flight rows are left alone.
    `lease`: how long the attempt may take before the sweep assumes its worker died and re-queues it."""
    now = utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        session = tx.session
        mine = and_(Delivery.id.in_(ids), Delivery.state.in_(ACTIVE))
        suspended = select(Instance.domain).where(Instance.policy == "suspend")
        await session.execute(_move("failed", now, mine, Delivery.domain.in_(suspended),
                                    last_error="not sent: an admin suspended this instance"))
        if ctx.config.federation.allowlist_mode:
            allowed = select(Instance.domain).where(Instance.allowed.is_(True))
            await session.execute(_move("failed", now, mine, Delivery.domain.not_in(allowed),
                                        last_error="not sent: this instance is not on the allowlist"))
        paused = select(Instance.domain).where(Instance.paused_until > now)
        await session.execute(_move("paused", now, mine, Delivery.domain.in_(paused)))
        claimed = list(await session.scalars(
            update(Delivery).where(mine, Delivery.next_attempt_at <= now)
            .values(next_attempt_at=now + lease, attempts=Delivery.attempts + 1)
            .returning(Delivery.id).execution_options(synchronize_session=False)))
        if not claimed:
            return []
        rows = (await session.execute(select(Delivery.id, Delivery.inbox_url, Delivery.domain, Delivery.attempts,
                                             Delivery.activity_id).where(Delivery.id.in_(claimed)))).all()
        # Each body and actor once, however many inboxes share them (a fan-out is one activity).
        activities = {a.id: a for a in (await session.scalars(select(OutgoingActivity).where(
            OutgoingActivity.id.in_({row.activity_id for row in rows})))).all()}
        actors = {a.id: a for a in (await session.scalars(select(Account).where(
            Account.id.in_({a.actor_id for a in activities.values()})))).all()}
    return [Attempt(row.id, row.inbox_url, row.domain, activities[row.activity_id].body, row.attempts,
                    actors[activities[row.activity_id].actor_id], activities[row.activity_id].request_id)
            for row in rows]


def retry_delay(attempt: int, retry_after: float | None = None) -> timedelta:
    """Exponential backoff after the `attempt`-th failed try: 30 s, 1 min, 2 min ... capped at a day."""
    delay = min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempt - 1))
    if retry_after:
        delay = min(RETRY_CAP, max(delay, timedelta(seconds=retry_after)))
    return delay


def pause_length(failures: int) -> timedelta:
    """How long to pause a domain that failed `failures` rounds in a row: 10 min, doubling, capped at a day."""
    return min(PAUSE_CAP, PAUSE_BASE * 2 ** min(20, max(0, failures - BREAKER_THRESHOLD)))


async def settle(ctx: Context, outcomes: list[Outcome]) -> None:
    """Record the outcomes of attempts (one transaction for a whole batch) and the instances' health."""
    if not outcomes:
        return
    now = utcnow()
    groups: dict[str, list[dict]] = defaultdict(list)
    for o in outcomes:
        state, error, next_at = o.state, o.error, now
        if state == "retry" and o.attempt >= MAX_ATTEMPTS:
            state, error = "failed", f"gave up after {o.attempt} attempts; last: {o.error}"
        elif state == "retry":
            next_at = now + retry_delay(o.attempt, o.retry_after)
        groups[state].append({"b_id": o.delivery_id, "b_status": o.status, "b_error": (error or None) and error[:1000],
                              "b_next": next_at})
    for o in outcomes:
        metrics.DELIVERIES.labels(o.state, o.domain).inc()
    async with ctx.transaction(changes_pages=False) as tx:
        for state, params in groups.items():
            await tx.session.execute(_move(state, now, Delivery.id == bindparam("b_id"), last_status=bindparam(
                "b_status"), last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next")), params)
        up = {o.domain for o in outcomes if o.health == "up"}
        down = {o.domain for o in outcomes if o.health == "down"} - up
        if up:
            await _instances_up(ctx, tx, up, now)
        if down:
            await _instances_down(ctx, tx, down, now)


async def _instances_up(ctx: Context, tx: Transaction, domains: set[str], now: datetime) -> None:
    """An answer from the instance closes its circuit and resumes what waited for it."""
    await tx.session.execute(update(Instance).where(Instance.domain.in_(domains)).values(
        consecutive_failures=0, paused_until=None, last_success_at=now).execution_options(synchronize_session=False))
    resumed = list(await tx.session.scalars(_move("pending", now, Delivery.domain.in_(domains),
                                                  next_attempt_at=now).returning(Delivery.id)))
    _enqueue_after(ctx, tx, resumed)


async def _instances_down(ctx: Context, tx: Transaction, domains: set[str], now: datetime) -> None:
    # One failed round per domain per batch: a burst of deliveries to one dead host is one failure, not fifty.
    await tx.session.execute(_insert_ignore(ctx, Instance).on_conflict_do_nothing(index_elements=["domain"]), [
        {"domain": d, "policy": "none", "allowed": False, "reason": "", "consecutive_failures": 0, "created_at": now,
         "info": {}} for d in domains])
    await tx.session.execute(update(Instance).where(Instance.domain.in_(domains)).values(
        consecutive_failures=Instance.consecutive_failures + 1, last_failure_at=now)
        .execution_options(synchronize_session=False))
    tripped = (await tx.session.execute(select(Instance.domain, Instance.consecutive_failures).where(
        Instance.domain.in_(domains), Instance.consecutive_failures >= BREAKER_THRESHOLD,
        or_(Instance.paused_until.is_(None), Instance.paused_until <= now)))).all()
    for domain, failures in tripped:
        await pause_instance(tx, domain, now + pause_length(failures), now)


async def pause_instance(tx: Transaction, domain: str, until: datetime, now: datetime | None = None) -> None:
    """Open the circuit: nothing is sent to `domain` until `until`; its waiting deliveries keep their rows."""
    now = now or utcnow()
    await tx.session.execute(update(Instance).where(Instance.domain == domain).values(paused_until=until)
                             .execution_options(synchronize_session=False))
    await tx.session.execute(_move("paused", now, Delivery.domain == domain))


# --- the sweep -----------------------------------------------------------------------------------


async def sweep(ctx: Context) -> tuple[int, int]:
    """Re-queue due retries and deliveries a dead worker dropped; end pauses that are over by letting one
    probe delivery through (a success resumes the rest; a failure pauses the domain again, for longer).
    Returns (re-queued, domains probed)."""
    now = utcnow()
    async with ctx.sessions() as session:
        due = list(await session.scalars(select(Delivery.id).where(or_(
            and_(Delivery.state == "retry", Delivery.next_attempt_at <= now),
            and_(Delivery.state == "pending", Delivery.next_attempt_at <= now - PENDING_GRACE)))
            .order_by(Delivery.domain, Delivery.id).limit(SWEEP_LIMIT)))
        busy = aliased(Delivery)
        domains = list(await session.scalars(select(Delivery.domain).distinct().where(
            Delivery.state == "paused",
            ~Delivery.domain.in_(select(Instance.domain).where(Instance.paused_until > now)),
            ~exists().where(busy.domain == Delivery.domain, busy.state.in_(ACTIVE)))))
    probes: list[int] = []
    for domain in domains:
        async with ctx.transaction(changes_pages=False) as tx:
            oldest = aliased(Delivery)
            first = select(func.min(oldest.id)).where(oldest.domain == domain, oldest.state == "paused")
            probe = await tx.session.scalar(_move("pending", now, Delivery.id == first.scalar_subquery(),
                                                  next_attempt_at=now).returning(Delivery.id))
            await tx.session.execute(update(Instance).where(Instance.domain == domain, Instance.paused_until <= now)
                                     .values(paused_until=None).execution_options(synchronize_session=False))
        if probe is not None:
            probes.append(probe)
    for chunk in _chunks(due + probes):
        await ctx.jobs.enqueue(tasks.DELIVER, *chunk)
    return len(due), len(probes)


# --- what the artist sees ------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    activity_type: str
    domain: str
    inbox_url: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    changed_at: datetime
    next_attempt_at: datetime | None  # only while a retry is scheduled


async def delivery_log(ctx: Context, artwork_id: int) -> list[LogEntry]:
    """Every delivery of every activity about one artwork (Create, Update, Delete), oldest activity first."""
    async with ctx.sessions() as session:
        rows = (await session.execute(
            select(OutgoingActivity.activity_type, Delivery.domain, Delivery.inbox_url, Delivery.state,
                   Delivery.attempts, Delivery.last_status, Delivery.last_error, Delivery.state_changed_at,
                   Delivery.next_attempt_at)
            .join(OutgoingActivity, OutgoingActivity.id == Delivery.activity_id)
            .where(OutgoingActivity.artwork_id == artwork_id)
            .order_by(OutgoingActivity.id, Delivery.domain, Delivery.inbox_url))).all()
    return [LogEntry(*row[:-1], row.next_attempt_at if row.state == "retry" else None) for row in rows]
