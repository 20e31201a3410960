"""Small pieces of state the client API keeps for an account: timeline read markers (shared by its apps) and
Idempotency-Key replays (a retried post within the hour returns the first result, never a duplicate)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.models import Account, IdempotencyKey, Marker, Notification
from cara_fed.numbers import parse_whole

MARKER_TIMELINES = ("home", "notifications")
IDEMPOTENCY_WINDOW = timedelta(hours=1)
PENDING = "pending"


async def markers(ctx: Context, account: Account, timelines: list[str]) -> list[Marker]:
    wanted = [t for t in timelines if t in MARKER_TIMELINES] or list(MARKER_TIMELINES)
    async with ctx.sessions() as session:
        return list((await session.scalars(select(Marker).where(Marker.account_id == account.id,
                                                                Marker.timeline.in_(wanted)))).all())


async def save_marker(ctx: Context, account: Account, timeline: str, last_read_id: str) -> Marker:
    """Move a marker; the notifications marker also marks those notifications read (the web badge agrees)."""
    if timeline not in MARKER_TIMELINES:
        raise ValidationError({"timeline": f"Markers exist for {' and '.join(MARKER_TIMELINES)} only."})
    if parse_whole(last_read_id) is None:
        raise ValidationError({"last_read_id": "last_read_id must be an id."})
    for attempt in range(2):
        try:
            async with ctx.transaction(changes_pages=False) as tx:
                row = await tx.session.scalar(select(Marker).where(Marker.account_id == account.id,
                                                                   Marker.timeline == timeline))
                if row is None:
                    row = Marker(account_id=account.id, timeline=timeline, last_read_id=last_read_id, version=0)
                    tx.session.add(row)
                row.last_read_id, row.version, row.updated_at = last_read_id, row.version + 1, utcnow()
                if timeline == "notifications" and int(last_read_id) < 2**31:
                    await tx.session.execute(update(Notification).where(
                        Notification.account_id == account.id, Notification.id <= int(last_read_id),
                        Notification.read_at.is_(None)).values(read_at=utcnow()))
            return row
        except IntegrityError:  # two apps created it at once: the second try updates
            if attempt:
                raise
    raise AssertionError("unreachable")


async def once(ctx: Context, account: Account, key: str, make: Callable[[], Awaitable[str]]) -> str:
    """Run `make` (which returns what it made, e.g. "artwork:12") unless this key already ran within the hour,
    in which case return that first result. A concurrent duplicate waits for the first to finish."""
    if not key:
        return await make()
    key = key[:200]
    async with ctx.transaction(changes_pages=False) as tx:
        expired = IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_WINDOW
        await tx.session.execute(delete(IdempotencyKey).where(expired))
    try:
        async with ctx.transaction(changes_pages=False) as tx:
            tx.session.add(IdempotencyKey(account_id=account.id, key=key, result=PENDING))
    except IntegrityError:
        for _ in range(100):  # up to ~10 s for the first request to finish
            async with ctx.sessions() as session:
                result = await session.scalar(select(IdempotencyKey.result).where(
                    IdempotencyKey.account_id == account.id, IdempotencyKey.key == key))
            if result is None:
                break  # the first attempt failed and let go of the key: this one makes it
            if result != PENDING:
                return result
            await asyncio.sleep(0.1)
        else:
            raise ValidationError({"idempotency": "The same request is still being processed; try again."})
        return await once(ctx, account, key, make)
    try:
        result = await make()
    except BaseException:
        async with ctx.transaction(changes_pages=False) as tx:
            await tx.session.execute(delete(IdempotencyKey).where(IdempotencyKey.account_id == account.id,
                                                                  IdempotencyKey.key == key))
        raise
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(update(IdempotencyKey).where(IdempotencyKey.account_id == account.id,
                                                              IdempotencyKey.key == key).values(result=result))
    return result
