"""Rate limits shared by every web process through Redis ([cache] redis_url), with the `limits` library.

Without Redis each process keeps its own counters (web/noai.py, web/api/base.py): fine for one process,
N times looser with N. With Redis a client's budget is the same whichever process or machine answers.
If Redis stops answering, requests are let through (and it is logged): a broken limiter must not take
the site down with it.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from cara_fed.config import Config

log = logging.getLogger(__name__)
_WARN_EVERY = 60.0


class SharedLimiter:
    """`limit` hits per `seconds` per key, counted in Redis (a sliding-window counter: two keys per client,
    however large the limit)."""

    def __init__(self, redis_url: str, name: str, limit: int, seconds: int, prefix: str = "cara-fed"):
        self.limit = limit
        self.name = name
        self.item = RateLimitItemPerSecond(limit, seconds)
        url = "async+" + redis_url if redis_url.startswith(("redis://", "rediss://")) else redis_url
        self.storage = storage_from_string(url, implementation="redispy", key_prefix=prefix)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._warned = 0.0

    def _unavailable(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned > _WARN_EVERY:
            self._warned = now
            log.warning("shared rate limit %s unavailable, letting requests through: %s", self.name, exc)

    async def take(self, key: str) -> float:
        """0.0 if allowed, else the seconds until the client may try again."""
        try:
            if await self.strategy.hit(self.item, self.name, key):
                return 0.0
            stats = await self.strategy.get_window_stats(self.item, self.name, key)
        except Exception as exc:  # Redis down or unreachable: fail open
            self._unavailable(exc)
            return 0.0
        return max(1.0, math.ceil(stats.reset_time - time.time()))

    async def hit(self, key: str) -> tuple[int, int]:
        """(remaining, unix time when the budget is whole again); remaining < 0 means refused."""
        try:
            allowed = await self.strategy.hit(self.item, self.name, key)
            stats = await self.strategy.get_window_stats(self.item, self.name, key)
        except Exception as exc:
            self._unavailable(exc)
            return self.limit, int(time.time()) + self.item.get_expiry()
        return (stats.remaining if allowed else -1), int(math.ceil(stats.reset_time))


def shared_limiter(config: Config, name: str, limit: int, seconds: int) -> SharedLimiter | None:
    """A Redis-backed limiter when [cache] redis_url is set and the limit is on; None means per process."""
    if not config.cache.redis_url or limit <= 0:
        return None
    # Keyed by our domain too: instances sharing one Redis keep separate budgets.
    return SharedLimiter(config.cache.redis_url, name, limit, seconds, prefix=f"cara-fed:{config.server.domain}")
