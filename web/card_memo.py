"""Rendered cards kept by what they were rendered from, so a card shown again is not rendered again (issue 15).

A page of cards spends ~40 us of template work per card (the picture's srcsets, classes and escaping: a portfolio
or home page shows up to 24, the artwork page six more). The same cards come back on every view of a portfolio,
the home page and tag pages, and on other pages that list them. A card read as plain rows carries their
fingerprint (cara_fed/queries_cards.py: its work row, its number of images and its cover's rows); with the
author's names and the macro's flags that is everything the `card` macro reads (the public media base URL is
fixed per environment, which has its own memo). So an entry never goes stale and needs no invalidation: a
changed work reads different rows and misses. Cards without a fingerprint (ORM artworks) are rendered as before.
Bounded: least recently used entries go first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

# ~1.1 KB of HTML each, and the rows of its key (a dozen derivatives with their storage keys): ~9 KB in all per
# card (tracemalloc, demo data), so some 18 MB at most per web process; a home page and 80 portfolios fit.
MAX_CARDS = 2000


class CardMemo:
    def __init__(self, env: Environment, max_cards: int = MAX_CARDS):
        self._env = env
        self._max = max_cards
        self._cards: OrderedDict[tuple, Markup] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cards)

    def cards(self, works: Any, show_artist: bool = True, justified: bool = False) -> Markup:
        """The cards of a grid, one after the other (one call from the template, not one per card)."""
        return Markup("").join(self.card(work, show_artist, justified) for work in works)

    def card(self, work: Any, show_artist: bool = True, justified: bool = False) -> Markup:
        """The `card` macro's HTML for `work` (_macros.html), from the memo when this card was rendered before."""
        fingerprint = getattr(work, "fingerprint", ())
        if not fingerprint:
            return self._render(work, show_artist, justified)
        author = work.account
        key = (fingerprint, show_artist, justified, author.username, author.domain,
               author.name if show_artist else None)
        found = self._cards.get(key)
        if found is not None:
            self.hits += 1
            self._cards.move_to_end(key)
            return found
        self.misses += 1
        found = self._cards[key] = self._render(work, show_artist, justified)
        if len(self._cards) > self._max:
            self._cards.popitem(last=False)
        return found

    def _render(self, work: Any, show_artist: bool, justified: bool) -> Markup:
        return self._env.get_template("_macros.html").module.card(work, show_artist, justified)  # type: ignore[attr-defined]
