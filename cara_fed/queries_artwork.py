"""The artwork page's works as plain rows: the shown work with everything the page prints, and the artist's latest
works beside it as cards (cara_fed/queries_cards.py says why not ORM entities).

Three statements, built once (ids bound at execution): the works (the shown one's detail columns ride on every
row: cheaper than a second statement), their images with assets and derivatives, the shown work's tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, ArtworkTag
from cara_fed.queries import portfolio_where
from cara_fed.queries_cards import WORK_COLUMNS, CardWork, add_images, card_from_row

MORE = 6  # the "more by this artist" cards

_DETAIL_COLUMNS = (Artwork.description, Artwork.description_html, Artwork.field, Artwork.medium, Artwork.software,
                   Artwork.license, Artwork.ai_label_by, Artwork.cloak, Artwork.cloaked, Artwork.comment_policy,
                   Artwork.uri, Artwork.url, Artwork.published_at)
_DETAIL_NAMES = tuple(column.key for column in _DETAIL_COLUMNS)  # ShownWork's own fields, as the model names them


@dataclass(slots=True, kw_only=True)
class ShownWork(CardWork):
    """The artwork page's work: a card's fields plus the details the page shows, under the model's attribute names,
    so the templates and can_view/may_comment read it as they read an Artwork."""
    description: str
    description_html: str
    field: str
    medium: str
    software: list
    license: str
    ai_label_by: str | None
    cloak: bool
    cloaked: dict | None
    comment_policy: str
    uri: str | None
    url: str | None
    published_at: datetime | None
    tag_names: list[str] = field(default_factory=list)  # sorted, as the model's

    @property
    def tags(self) -> list[str]:  # templates only test it for being empty
        return self.tag_names


# The artist's latest visible works (ids), newest first, one more than shown: the shown work may be among them.
_LATEST = (portfolio_where(select(Artwork.id), bindparam("account_id"), everything=False)
           .order_by(Artwork.id.desc()).limit(bindparam("latest")))
# The account filter first: PostgreSQL cannot turn an OR of an id and an IN-subquery into an index lookup and reads
# every work for it (397 ms per page at a million works, bench/surge.py's data; 0.06 ms with the filter). A work of
# another account is not found either way.
# The shown work's tags ride along as one joined string (the other rows get NULL): a statement of their own was
# one more round trip per page.
_TAG_SEPARATOR = "\x1f"  # ASCII unit separator: in no tag
_SHOWN_TAGS = case((Artwork.id == bindparam("work_id"),
                    select(func.aggregate_strings(ArtworkTag.tag, _TAG_SEPARATOR))
                    .where(ArtworkTag.artwork_id == Artwork.id).scalar_subquery()), else_=None)
_WORKS = (select(*WORK_COLUMNS, *_DETAIL_COLUMNS, _SHOWN_TAGS)
          .where(Artwork.account_id == bindparam("account_id"),
                 or_(Artwork.id == bindparam("work_id"), Artwork.id.in_(_LATEST))))


async def work_and_more(session: AsyncSession, account: Account, work_id: int,
                        more: int = MORE) -> tuple[ShownWork | None, list[CardWork]]:
    """The artwork page's work (None when the artist has no such work) and the artist's latest visible works
    beside it, newest first."""
    rows = await core_rows(session, _WORKS, {"account_id": account.id, "work_id": work_id, "latest": more + 1})
    width = len(WORK_COLUMNS)
    shown: ShownWork | None = None
    cards: dict[int, CardWork] = {}
    details = width + len(_DETAIL_NAMES)
    for row in rows:
        if row[0] == work_id:
            shown = ShownWork(*row[:width], account=account,
                              **dict(zip(_DETAIL_NAMES, row[width:details], strict=True)),
                              tag_names=sorted(row[details].split(_TAG_SEPARATOR)) if row[details] else [])
        else:
            cards[row[0]] = card_from_row(row, account)
    works: dict[int, Any] = {**cards, **({work_id: shown} if shown else {})}
    if works:
        await add_images(session, works)
    others = sorted(cards.values(), key=lambda work: work.id, reverse=True)
    return shown, others[:more]
