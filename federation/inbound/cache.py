"""Short-lived in-process caches for the inbox's hot lookups: local recipient by username, a remote
domain's policy, and a signing key's owner and PEM.

An entry is used only while (a) it is younger than its TTL and (b) the page cache has not been cleared
whole in this process since it was loaded (`ctx.cache.generation`, bumped by every page-changing commit
that names no tags: an admin's domain block, an account suspension, a stored actor or key; the tagged
writes of a surge, likes, boosts, follows, comments, change none of these and keep the entries, see
cara_fed/cache.py). So in this process a change takes
effect at once; other processes (several web servers) see it within the TTL: 5 s for domain policies,
10 s for recipients, 30 s for keys. Concurrent misses of one key share a single load (no stampede of key
fetches when a new peer starts sending). Failures are not cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from cara_fed.context import Context, ResourceKey
from cara_fed.queries import local_account
from cara_fed.services import inbox as inbox_service
from federation.discovery import resolver

RECIPIENT_TTL = 10.0
POLICY_TTL = 5.0
KEY_TTL = 30.0
MAX_ENTRIES = 10_000
LOOKUPS = ResourceKey["InboxLookups"]("inbox.lookups")

V = TypeVar("V")


@dataclass(frozen=True)
class SigningKey:
    """What the inbox needs of a key's owner, detached from any session."""

    key_id: str
    owner_uri: str
    domain: str
    pem: str
    fetched_at: datetime | None


class TTLCache(Generic[V]):
    def __init__(self, ctx: Context, ttl: float, max_entries: int = MAX_ENTRIES):
        self.ctx, self.ttl, self.max_entries = ctx, ttl, max_entries
        self._entries: dict[Hashable, tuple[V, float, int]] = {}  # value, loaded at, page generation
        self._loading: dict[tuple[Hashable, bool], asyncio.Task[V]] = {}

    def _valid(self, key: Hashable) -> tuple[bool, V | None]:
        found = self._entries.get(key)
        if found is None:
            return False, None
        value, loaded_at, generation = found
        if generation != self.ctx.cache.generation or time.monotonic() - loaded_at > self.ttl:
            del self._entries[key]
            return False, None
        return True, value

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]], *, fresh: bool = False) -> V:
        """The cached value, else `load()` (shared by concurrent callers). fresh=True always loads."""
        if not fresh:
            hit, value = self._valid(key)
            if hit:
                return value  # type: ignore[return-value]
        flight = (key, fresh)
        task = self._loading.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            self._loading[flight] = task
            task.add_done_callback(lambda _: self._loading.pop(flight, None))
        return await asyncio.shield(task)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        generation, loaded_at = self.ctx.cache.generation, time.monotonic()
        value = await load()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; every entry is cheap to load again
        # Stamped with the generation seen before loading: a change committed meanwhile makes it stale.
        self._entries[key] = (value, loaded_at, generation)
        return value


class InboxLookups:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.recipients: TTLCache[str | None] = TTLCache(ctx, RECIPIENT_TTL)
        self.policies: TTLCache[str] = TTLCache(ctx, POLICY_TTL)
        self.keys: TTLCache[SigningKey] = TTLCache(ctx, KEY_TTL)

    async def recipient(self, username: str) -> str | None:
        """"shared" (the instance actor) or the local account id; None if no active user has that name."""
        return await self.recipients.get(username.lower(), lambda: self._recipient(username))

    async def _recipient(self, username: str) -> str | None:
        async with self.ctx.sessions() as session:
            account = await local_account(session, username)
        if account is None or account.status != "active":
            return None
        return "shared" if account.kind == "application" else str(account.id)

    async def domain_policy(self, domain: str) -> str:
        domain = domain.lower()
        return await self.policies.get(domain, lambda: inbox_service.domain_policy(self.ctx, domain))

    async def key(self, key_id: str) -> SigningKey:
        """The key and its owner, from the cache, else the database, else fetched (resolver.key_for)."""
        return await self.keys.get(key_id, lambda: self._key(key_id, refresh=False))

    async def refreshed_key(self, key_id: str, stale: SigningKey) -> SigningKey:
        """Fetch the key again (it may have been rotated), once for all the requests that found `stale`
        failing: one that finds something newer than `stale` (cache or database) uses that instead."""
        current = await self.key(key_id)
        if current != stale:
            return current
        return await self.keys.get(key_id, lambda: self._key(key_id, refresh=True), fresh=True)

    async def _key(self, key_id: str, refresh: bool) -> SigningKey:
        owner = await resolver.key_for(self.ctx, key_id, refresh=refresh)
        return SigningKey(key_id, owner.uri or "", owner.domain or "", owner.public_key_pem or "", owner.fetched_at)


def lookups(ctx: Context) -> InboxLookups:
    return ctx.resources.provide(LOOKUPS, lambda: InboxLookups(ctx))
