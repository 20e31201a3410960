"""Rendered-page cache for anonymous visitors.

Any committed write clears it in this process (services ask for that after commit); the TTL bounds
staleness when several web processes run, since they do not share invalidations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    content_type: str
    status: int
    headers: tuple[tuple[str, str], ...]
    expires: float


class PageCache:
    def __init__(self, ttl_seconds: int, max_entries: int = 2000):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._pages: dict[str, CachedPage] = {}
        self.generation = 0

    def get(self, key: str) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None:
            return None
        if page.expires < time.monotonic():
            self._pages.pop(key, None)
            return None
        return page

    def put(self, key: str, body: bytes, content_type: str, status: int, headers: dict[str, str]) -> None:
        if self.ttl <= 0:
            return
        if len(self._pages) >= self.max_entries:
            self._pages.clear()  # crude but bounded; pages are cheap to re-render
        self._pages[key] = CachedPage(body, content_type, status, tuple(headers.items()),
                                      time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._pages.clear()
        self.generation += 1
