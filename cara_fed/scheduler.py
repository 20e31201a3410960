"""Periodic jobs (sweeps, retention) run exactly once per slot, however many processes try.

Every candidate (`cara-fed scheduler`, or the worker serving the media queue when [jobs] separate_scheduler
is off) ticks often; for each job it computes the current slot (time rounded down to the job's interval)
and INSERTs (job, slot). The primary key lets one insert win; only the winner runs the job. A scheduler
that dies mid-run loses that slot only: the next slot is claimed afresh, and every periodic job is
idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import ScheduledRun

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int
    run: Callable[[Context], Awaitable[object]]


def slot_of(now: datetime, every_seconds: int) -> datetime:
    stamp = int(now.timestamp()) // every_seconds * every_seconds
    return datetime.fromtimestamp(stamp, UTC)


async def claim(ctx: Context, job: str, slot: datetime, who: str) -> bool:
    """True for exactly one caller per (job, slot) across every process sharing the database."""
    if ctx.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ScheduledRun).values(job=job, slot=slot, claimed_by=who[:128], claimed_at=utcnow()) \
        .on_conflict_do_nothing()
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(statement)
    return (result.rowcount or 0) == 1


async def run_due(ctx: Context, jobs: list[Periodic], who: str, now: datetime | None = None) -> list[str]:
    """Claim and run each job whose current slot nobody has claimed yet; returns the names run here."""
    now = now or utcnow()
    ran = []
    for job in jobs:
        if not await claim(ctx, job.name, slot_of(now, job.every_seconds), who):
            continue
        ran.append(job.name)
        try:
            await job.run(ctx)
        except Exception:  # one failing job must not stop the others; it runs again next slot
            log.exception("periodic job %s failed", job.name)
    return ran


async def run_forever(ctx: Context, jobs: list[Periodic], who: str, stop: asyncio.Event) -> None:
    log.info("scheduler %s running %s", who, ", ".join(f"{j.name} every {j.every_seconds}s" for j in jobs))
    while not stop.is_set():
        try:
            ran = await run_due(ctx, jobs, who)
            if ran:
                log.info("ran %s", ", ".join(ran))
        except Exception:  # e.g. the database is restarting: try again next tick
            log.exception("scheduler tick failed")
        try:
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
        except TimeoutError:
            pass
