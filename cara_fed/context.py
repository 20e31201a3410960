"""The one dependency object handed to services, jobs and edges, and the one app key it is stored under."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cara_fed.cache import LISTINGS, PageCache, account_tag
from cara_fed.config import Config
from cara_fed.db import make_engine, make_read_sessionmaker, make_sessionmaker
from cara_fed.directory import Directory
from cara_fed.hashing import HashingPool
from cara_fed.media_budget import MemoryBudget
from cara_fed.queue import Jobs, NoJobs
from cara_fed.storage import MediaStore, make_store

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class ResourceKey(Generic[T]):
    """Names one per-process resource an edge keeps on the Context; `ResourceKey[ClientSession]("…")` types
    what `Resources.provide` hands back, as aiohttp's AppKey does for the app. Compared by identity."""

    name: str


class Resources:
    """Per-process objects owned by an edge (federation's HTTP client session, the inbox lookup caches):
    made on first use, remade when no longer usable, closed with the Context. The core never names their types."""

    def __init__(self) -> None:
        self._held: dict[ResourceKey[Any], Any] = {}

    def provide(self, key: ResourceKey[T], make: Callable[[], T],
                usable: Callable[[T], bool] | None = None) -> T:
        found = self._held.get(key)
        if found is None or (usable is not None and not usable(found)):
            found = self._held[key] = make()
        return found

    async def close(self) -> None:
        held, self._held = list(self._held.values()), {}
        for resource in held:
            closer = getattr(resource, "close", None)
            if closer is not None:
                result = closer()
                if inspect.isawaitable(result):
                    await result


@dataclass
class Transaction:
    session: AsyncSession
    _after: list[tuple[Callable[..., Any], tuple]] = field(default_factory=list)
    _touched: set[str] | None = None  # None: named nothing (the commit clears the page cache)

    def touches(self, *account_ids: int | None, listings: bool = False) -> None:
        """Name what this write changes on cached pages: the accounts whose portfolio, artwork, project and AP
        pages show it, and `listings` when pages listing works across accounts (home, tags, job board) do.
        After commit only those pages (and untagged ones) are dropped; a transaction that names nothing
        clears the whole page cache; `tx.touches()` with no account (or only None) names a write that changes
        no cached page. Name nothing for writes the inbox lookups or media access caches read (keys, domain
        blocks, account status, a work's state or visibility): only a full clear resets them."""
        if self._touched is None:
            self._touched = set()
        self._touched.update(account_tag(i) for i in account_ids if i is not None)
        if listings:
            self._touched.add(LISTINGS)

    def after_commit(self, function: Callable[..., Any], *args: Any) -> None:
        """Run `function(*args)` once the transaction has committed (never if it rolls back)."""
        self._after.append((function, args))


@dataclass
class Context:
    config: Config
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Sessions for requests that only read (cara_fed/db.py make_read_sessionmaker): no transaction round trips on
    # PostgreSQL; a write through one is refused.
    reads: async_sessionmaker[AsyncSession]
    storage: MediaStore
    cache: PageCache
    media_budget: MemoryBudget
    hashing: HashingPool = field(default_factory=HashingPool)  # passwords, off the event loop and bounded
    jobs: Jobs = field(default_factory=NoJobs)  # the composition root installs huey's or the inline queue
    # Remote lookups (the federation edge's implementation, installed by the composition root); None where the
    # process does not federate, and callers then say so rather than fail.
    directory: Directory | None = None
    # The name of the worker running jobs in this process (stamped on what it claims, so its next start can
    # recover what a crash left behind); None where no worker runs (web-only processes, inline tests).
    worker_name: str | None = None
    resources: Resources = field(default_factory=Resources)

    @classmethod
    def create(cls, config: Config) -> Context:
        database = config.database
        engine = make_engine(config.database_url, echo=database.echo, pool_size=database.pool_size,
                             max_overflow=database.max_overflow, pool_timeout=database.pool_timeout_seconds,
                             pool_recycle=database.pool_recycle_seconds)
        config.data_path.mkdir(parents=True, exist_ok=True)
        budget = MemoryBudget(config.media.memory_budget_mb * 1024 * 1024, config.media.remote_share_percent / 100)
        security = config.security
        hashing = HashingPool(security.password_hash_workers, security.password_hash_queue,
                              memory_kib=security.password_hash_memory_kib,
                              time_cost=security.password_hash_time_cost,
                              parallelism=security.password_hash_parallelism)
        return cls(config=config, engine=engine, sessions=make_sessionmaker(engine),
                   reads=make_read_sessionmaker(engine),
                   storage=make_store(config), cache=PageCache(config.cache.page_seconds, config.cache.page_entries),
                   media_budget=budget, hashing=hashing)

    @asynccontextmanager
    async def transaction(self, *, changes_pages: bool = True) -> AsyncIterator[Transaction]:
        """changes_pages=False for writes no page shows (e.g. queue bookkeeping), so they keep the page cache;
        otherwise the commit drops the pages the transaction named (`tx.touches`), or all of them."""
        async with self.sessions() as session:
            tx = Transaction(session)
            async with session.begin():
                yield tx
        # Committed: now drop the cached pages it changed (all, if it named none) and hand follow-up work on.
        if changes_pages and tx._touched is None:
            self.cache.clear()
        elif changes_pages and tx._touched:
            self.cache.invalidate(tx._touched)
        for function, args in tx._after:
            result = function(*args)
            if inspect.isawaitable(result):
                await result

    def url(self, path: str) -> str:
        return self.config.base_url + path

    async def close(self) -> None:
        await self.resources.close()
        self.hashing.close()
        await self.storage.close()
        await self.engine.dispose()


# The one key the Context is stored under on the aiohttp app, for the web and federation edges alike.
CONTEXT_KEY = web.AppKey("context", Context)
