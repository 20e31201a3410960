"""Instance-wide numbers read from the database and kept per process for a while (issue 15).

At 300,000 accounts and a million works, counting the local artists and published works costs PostgreSQL
0.8-1 s (bench/surge.py's data); the home and about pages, nodeinfo and the client API's instance endpoint
showed such counts, so every render of them paid it. A `Recount` keeps its value for `seconds` and until the
page cache's next full clear (`PageCache.generation`: sign-ups, publishing, deletions and moderation clear it),
so a process shows its own changes at once and other processes' within `seconds`, as pages do. One recount at
a time: concurrent readers wait for it instead of each counting again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries
from cara_fed.context import Context, ResourceKey

T = TypeVar("T")
RECOUNT_SECONDS = 60


class Recount(Generic[T]):
    def __init__(self, compute: Callable[[AsyncSession], Awaitable[T]], seconds: float = RECOUNT_SECONDS):
        self._compute = compute
        self._seconds = seconds
        self._lock = asyncio.Lock()
        self._value: T | None = None
        self._generation = -1
        self._expires = 0.0

    def _fresh(self, ctx: Context) -> bool:
        return self._generation == ctx.cache.generation and time.monotonic() < self._expires

    async def get(self, ctx: Context) -> T:
        if self._fresh(ctx):
            return self._value  # type: ignore[return-value]
        async with self._lock:
            if not self._fresh(ctx):
                generation = ctx.cache.generation  # noted first: a clear during the count makes it stale at once
                async with ctx.sessions() as session:
                    self._value = await self._compute(session)
                self._generation, self._expires = generation, time.monotonic() + self._seconds
        return self._value  # type: ignore[return-value]


async def recounted(ctx: Context, key: ResourceKey[Recount[T]],
                    compute: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`compute`'s value, kept on the Context under `key` (see Recount)."""
    return await ctx.resources.provide(key, lambda: Recount(compute)).get(ctx)


LOCAL_COUNTS: ResourceKey[Recount[tuple[int, int]]] = ResourceKey("local artists and published works")


async def local_counts(ctx: Context) -> tuple[int, int]:
    """(local artists, their published works), as queries.count_local, kept per process (see Recount)."""
    return await recounted(ctx, LOCAL_COUNTS, queries.count_local)
