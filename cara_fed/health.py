"""Readiness: can this process do its work right now (database, queue, media storage)?

Liveness is only "the event loop answers" (/livez); readiness (/readyz) is what a load balancer asks
before sending traffic, so each check is short and bounded by a timeout, and a failure names its part.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from cara_fed.context import Context

TIMEOUT_SECONDS = 3.0


async def _database(ctx: Context) -> None:
    async with ctx.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _queue(ctx: Context) -> None:
    hueys = getattr(ctx.jobs, "hueys", None) or {}  # inline jobs (tests, demo): nothing to reach
    for huey in hueys.values():
        await asyncio.to_thread(huey.pending_count)


async def _storage(ctx: Context) -> None:
    ready = getattr(ctx.storage, "ready", None)  # a remote store says for itself
    if ready is not None:
        await ready()
        return
    for area in ("private", "public"):
        folder = ctx.storage.root / area
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OSError(f"{folder} is not a writable folder")


CHECKS: dict[str, Callable[[Context], Awaitable[None]]] = {"database": _database, "queue": _queue,
                                                           "storage": _storage}


async def readiness(ctx: Context) -> dict[str, str]:
    """{"database": "ok", "queue": "ok", "storage": "error: …"}; all checks run side by side."""

    async def run(check: Callable[[Context], Awaitable[None]]) -> str:
        try:
            await asyncio.wait_for(check(ctx), TIMEOUT_SECONDS)
        except TimeoutError:
            return f"error: no answer within {TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # any failure makes us unready; the reason goes to the operator
            return f"error: {type(exc).__name__}: {str(exc)[:200]}"
        return "ok"

    results = await asyncio.gather(*(run(check) for check in CHECKS.values()))
    return dict(zip(CHECKS, results, strict=True))
