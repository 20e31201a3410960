"""Instance-wide numbers read from the database and kept per process for a while (issue 15).

At 300,000 accounts and a million works, counting the local artists and published works costs PostgreSQL
0.8-1 s (bench/surge.py's data); the home and about pages, nodeinfo and the client API's instance endpoint
showed such counts, so every render of them paid it. A `Recount` keeps its value as long as the page cache
keeps a listing page: at most `[cache] page_seconds` (0: never kept), and only until a write drops the listings
(`PageCache.version(LISTINGS)`: sign-ups, publishing, deletions and moderation do). So a process shows its own
changes at once and other processes' no later than their pages. One recount at a time: concurrent readers
wait for it instead of each counting again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries
from cara_fed.cache import LISTINGS
from cara_fed.context import Context, ResourceKey

T = TypeVar("T")


class Recount(Generic[T]):
    def __init__(self, compute: Callable[[AsyncSession], Awaitable[T]], seconds: float | None = None):
        """`seconds`: how long a value is kept at most; None = the page cache's TTL ([cache] page_seconds)."""
        self._compute = compute
        self._seconds = seconds
        self._lock = asyncio.Lock()
        self._value: T | None = None
        self._version = -1
        self._expires = 0.0

    def _fresh(self, ctx: Context) -> bool:
        return self._version == ctx.cache.version((LISTINGS,)) and time.monotonic() < self._expires

    async def get(self, ctx: Context) -> T:
        if self._fresh(ctx):
            return self._value  # type: ignore[return-value]
        async with self._lock:
            if not self._fresh(ctx):
                version = ctx.cache.version((LISTINGS,))  # noted first: a write during the count makes it stale
                async with ctx.sessions() as session:
                    self._value = await self._compute(session)
                seconds = ctx.cache.ttl if self._seconds is None else self._seconds
                self._version, self._expires = version, time.monotonic() + seconds
        return self._value  # type: ignore[return-value]


async def recounted(ctx: Context, key: ResourceKey[Recount[T]],
                    compute: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`compute`'s value, kept on the Context under `key` (see Recount)."""
    return await ctx.resources.provide(key, lambda: Recount(compute)).get(ctx)


LOCAL_COUNTS: ResourceKey[Recount[tuple[int, int]]] = ResourceKey("local artists and published works")


async def local_counts(ctx: Context) -> tuple[int, int]:
    """(local artists, their published works), as queries.count_local, kept per process (see Recount)."""
    return await recounted(ctx, LOCAL_COUNTS, queries.count_local)
