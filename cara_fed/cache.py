"""Rendered-page cache for anonymous visitors (web/cache.py) and AP documents (federation/negotiation.py).

A cached page carries tags naming what it shows: `account:<id>` for an account's portfolio, artworks, projects
and AP documents, `listings` for pages that list works across accounts (home, tags, the job board, about).
A committed write drops, in this process, the pages with the tags its transaction names (`tx.touches`: the
accounts it changed, plus `listings` when asked) and every untagged page; a write that names nothing clears
the whole cache, so forgetting to name what a write changes is never wrong, only slow. A page whose render
began before such a write committed is not stored (per-tag versions: `clock`, `changed_since`), so a surge of
writes to other accounts does not keep a page out of the cache. The TTL bounds staleness when several web
processes run, since they do not share invalidations.

`generation` counts the clears of the whole cache: other in-process caches (inbox lookups, media access) drop
their entries when it changes, so a write that changes what they hold (an actor's key, a domain block, a
work's visibility or state) must not name tags. Tagged writes (likes, boosts, follows, comments) leave it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

LISTINGS = "listings"
MAX_TAGS = 100_000  # tags with a recorded invalidation; past that the cache is cleared (bounded memory)


def account_tag(account_id: int) -> str:
    return f"account:{account_id}"


# The tags of the page or AP document a request is rendering for the cache: the caching wrapper (web/cache.py,
# federation/negotiation.py `cached`) starts the set, the handler names what it shows with `tag_response`.
RESPONSE_TAGS = web.RequestKey("cache_response_tags", set)


def tag_response(request: web.Request, *tags: str) -> None:
    """Name what this response shows (`account_tag(id)`, `LISTINGS`), so that only writes to it drop it from the
    cache. A no-op when the response is not being cached."""
    found = request.get(RESPONSE_TAGS)
    if found is not None:
        found.update(tags)


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    content_type: str
    status: int
    headers: tuple[tuple[str, str], ...]
    expires: float
    tags: frozenset[str] = frozenset()
    meta: object = None  # what the storer keeps beside the body (web/viewer_pages.py: the page skeleton)


class PageCache:
    def __init__(self, ttl_seconds: int, max_entries: int = 2000):
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        # Least recently used first: a full cache evicts its coldest page, so a surge over many pages with a
        # few popular ones keeps those (emptying it whole when full, as before, lost them every max_entries puts).
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}  # tag -> keys of pages stored with it (may name gone pages)
        self._untagged: set[str] = set()
        self.generation = 0  # clears of the whole cache
        # A clock of invalidations: every clear and every tagged drop advances it. A render notes `clock`
        # before it starts; its page is stored only if nothing it shows was invalidated since (`changed_since`).
        self.clock = 0
        self._cleared_at = 0
        self._touched_at: dict[str, int] = {}  # tag -> clock of its latest drop
        self._key_tags: dict[str, frozenset[str]] = {}  # page key -> tags of its latest render (outlives drops)

    def get(self, key: str) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None:
            return None
        if page.expires < time.monotonic():
            self._pages.pop(key, None)
            for tag in page.tags:
                self._by_tag.get(tag, set()).discard(key)
            self._untagged.discard(key)
            return None
        self._pages.move_to_end(key)
        return page

    def put(self, key: str, body: bytes, content_type: str, status: int, headers: dict[str, str],
            tags: Iterable[str] = (), since: int | None = None, meta: object = None) -> bool:
        """Store a page rendered from state read after `since` (a `clock` value); refused (False) when a write
        that drops it committed since then, or when caching is off."""
        tags = frozenset(tags)
        if len(self._key_tags) >= 4 * self.max_entries:
            self._key_tags.clear()
        self._key_tags[key] = tags
        if self.ttl <= 0 or (since is not None and self.changed_since(since, tags)):
            return False
        self._pages.pop(key, None)
        while len(self._pages) >= self.max_entries:
            self._evict_coldest()
        self._pages[key] = CachedPage(body, content_type, status, tuple(headers.items()),
                                      time.monotonic() + self.ttl, tags, meta)
        if tags:
            for tag in tags:
                self._by_tag.setdefault(tag, set()).add(key)
        else:
            self._untagged.add(key)
        return True

    def changed_since(self, since: int, tags: Iterable[str]) -> bool:
        """Was a page with these tags dropped by an invalidation after clock value `since`?"""
        return self.version(tags) > since

    def version(self, tags: Iterable[str] | None) -> int:
        """The clock of the latest invalidation that drops a page with these tags (any, for an untagged one)."""
        tags = tuple(tags or ())
        if not tags:
            return self.clock
        return max(self._cleared_at, *(self._touched_at.get(tag, 0) for tag in tags))

    def tags_of(self, key: str) -> frozenset[str] | None:
        """The tags this key's page had when last rendered (kept when the page is dropped); None if never seen."""
        return self._key_tags.get(key)

    def key_version(self, key: str) -> int:
        """`version` for the tags this key's page had when last rendered (every write, for a key never seen)."""
        return self.version(self._key_tags.get(key))

    def invalidate(self, tags: Iterable[str]) -> None:
        """Drop the pages with any of these tags, and every untagged page. No tags: clear everything."""
        tags = set(tags)
        if not tags or len(self._touched_at) + len(tags) > MAX_TAGS:
            self.clear()
            return
        self.clock += 1
        for tag in tags:
            self._touched_at[tag] = self.clock
            for key in self._by_tag.pop(tag, ()):
                self._pages.pop(key, None)
        for key in self._untagged:
            self._pages.pop(key, None)
        self._untagged.clear()

    def clear(self) -> None:
        self._drop_all()
        self.generation += 1
        self.clock += 1
        self._cleared_at = self.clock
        self._touched_at.clear()

    def _evict_coldest(self) -> None:
        key, page = self._pages.popitem(last=False)
        for tag in page.tags:
            self._by_tag.get(tag, set()).discard(key)
        self._untagged.discard(key)

    def _drop_all(self) -> None:
        self._pages.clear()
        self._by_tag.clear()
        self._untagged.clear()
