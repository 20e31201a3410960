"""The periodic sweep's share for exports and imports: a job lost with its worker is queued again. Builds start
over (the partial zip is overwritten); imports resume at `done` (their rows move it with each work or address,
and stamp state_changed_at as a heartbeat, so a long import that is still moving is left alone)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import DataExport, DataImport
from cara_fed.states import transition

LOST_AFTER = timedelta(minutes=10)
STALLED_AFTER = timedelta(minutes=30)


async def sweep(ctx: Context) -> int:
    now = utcnow()
    jobs: list[tuple[str, int]] = []
    async with ctx.transaction(changes_pages=False) as tx:
        exports = (await tx.session.scalars(select(DataExport).where(
            ((DataExport.state == "queued") & (DataExport.state_changed_at < now - LOST_AFTER))
            | ((DataExport.state == "building") & (DataExport.state_changed_at < now - STALLED_AFTER))))).all()
        for row in exports:
            if row.state == "building":
                transition(row, "queued")
            jobs.append((tasks.BUILD_EXPORT, row.id))
        imports = (await tx.session.scalars(select(DataImport).where(
            ((DataImport.state == "queued") & (DataImport.state_changed_at < now - LOST_AFTER))
            | ((DataImport.state == "running") & (DataImport.state_changed_at < now - STALLED_AFTER))))).all()
        for row in imports:
            row.state_changed_at = now
            jobs.append((tasks.IMPORT_FOLLOWS if row.kind == "following" else tasks.IMPORT_ARCHIVE, row.id))
    for name, row_id in jobs:
        await ctx.jobs.enqueue(name, row_id)
    return len(jobs)
