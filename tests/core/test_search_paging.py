"""Searching works pages newest first through every match, by words and by tag, whatever the number of matches
(PostgreSQL reads only the newest candidates below the cursor from each index: queries_discovery.py), and
hidden works never count."""

from __future__ import annotations

import pytest

from cara_fed import queries_discovery
from cara_fed.models import Artwork, ArtworkTag
from cara_fed.queries_discovery import search_artworks
from cara_fed.services.accounts import create_account


async def all_pages(ctx, q: str) -> list[str]:  # type: ignore[no-untyped-def]
    titles: list[str] = []
    before = None
    while True:
        async with ctx.sessions() as session:
            page = await search_artworks(session, None, q, before=before, limit=7)
        titles += [work.title for work in page.items]
        if page.next_cursor is None:
            return titles
        before = page.next_cursor


@pytest.mark.parametrize("candidates", [1000, 3])  # 3: fewer than the matches, so each page reads its own window
async def test_search_pages_through_every_match_newest_first(ctx, monkeypatch, candidates) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queries_discovery, "SEARCH_CANDIDATES", candidates)
    async with ctx.transaction() as tx:
        ada = await create_account(ctx, tx, "ada", "ada@example.org", "correct horse 1", bypass_registration=True)
    async with ctx.transaction() as tx:
        for n in range(30):
            visibility = "followers" if n % 10 == 3 else "public"  # hidden from search: 3, 13, 23
            work = Artwork(account_id=ada.id, title=f"Heron {n}" if n % 2 else f"Crane {n}", state="published",
                           visibility=visibility, description="")
            tx.session.add(work)
            await tx.session.flush()
            if n % 3 == 0:
                tx.session.add(ArtworkTag(artwork_id=work.id, tag="heron"))
    herons = await all_pages(ctx, "heron")  # odd n by title, plus every third by tag
    wanted = [n for n in reversed(range(30)) if (n % 2 or n % 3 == 0) and n % 10 != 3]
    expected = [f"Heron {n}" if n % 2 else f"Crane {n}" for n in wanted]
    assert herons == expected
