"""Instance counts are kept per process (cara_fed/recount.py): the same numbers until the page cache's TTL passes
or a write drops the listing pages (a sign-up, publishing or moderation), never kept with the page cache off,
and one count at a time however many ask."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from cara_fed.models import Account
from cara_fed.recount import Recount, local_counts
from cara_fed.services.accounts import create_account


async def add_artist(ctx, name: str, *, clears_cache: bool) -> None:  # type: ignore[no-untyped-def]
    async with ctx.transaction(changes_pages=clears_cache) as tx:
        await create_account(ctx, tx, name, f"{name}@example.org", "correct horse 1", bypass_registration=True)


async def test_counts_are_kept_until_the_page_cache_is_cleared(ctx) -> None:  # type: ignore[no-untyped-def]
    await add_artist(ctx, "ada", clears_cache=True)
    assert await local_counts(ctx) == (1, 0)
    await add_artist(ctx, "bob", clears_cache=False)  # a write that leaves the cache: the count is kept
    assert await local_counts(ctx) == (1, 0)
    await add_artist(ctx, "cyd", clears_cache=True)  # a sign-up as the service does it clears the cache
    assert await local_counts(ctx) == (3, 0)


async def test_counts_are_kept_no_longer_than_pages(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.cache.ttl = 0  # [cache] page_seconds = 0: nothing is kept, pages nor counts
    await add_artist(ctx, "ada", clears_cache=True)
    assert await local_counts(ctx) == (1, 0)
    await add_artist(ctx, "bob", clears_cache=False)  # as another process's write: no clear here
    assert await local_counts(ctx) == (2, 0)


async def test_counts_expire_and_concurrent_readers_share_one_count(ctx) -> None:  # type: ignore[no-untyped-def]
    counted = 0

    async def count(session) -> int:  # type: ignore[no-untyped-def]
        nonlocal counted
        counted += 1
        await asyncio.sleep(0.05)  # a slow count: the others arrive while it runs
        return await session.scalar(select(func.count()).select_from(Account)) or 0

    kept = Recount(count, seconds=60)
    assert await asyncio.gather(*(kept.get(ctx) for _ in range(10))) == [0] * 10
    assert counted == 1
    expiring = Recount(count, seconds=0)
    await expiring.get(ctx)
    await expiring.get(ctx)
    assert counted == 3
