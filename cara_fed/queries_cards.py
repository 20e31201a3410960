"""Works shown as cards (portfolio, latest works, home, feed), read as plain rows into small dataclasses.

Why not ORM entities: a page of cards is ~100 objects (works, images, assets, derivatives); building identity-
mapped, instrumented instances for them was the largest share of an uncached page's CPU (issue 15). Cards are
read-only, so Core selects of the columns the card templates read are enough. The dataclasses carry the same
attribute names as the models (`work.cover`, `asset.best(...)`, `work.account.name`), so templates are unchanged.

Two statements for any number of cards: the works (with their authors' columns when the caller has no author
object), then images joined to their assets and derivatives (plain tuples are cheap to multiply, unlike ORM rows).
Authors' avatars (home page) cost one more statement, only when some author has one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs ~4x more, and a card shows dozens
class CardDerivative:
    id: int
    long_edge: int
    format: str
    width: int
    height: int
    key: str
    public_copy: str | None


@dataclass(slots=True)
class CardAsset:
    id: int
    state: str
    width: int | None
    height: int | None
    focal_x: float
    focal_y: float
    error_message: str | None
    progress: int  # the owner's cloaking progress (artwork page)
    eta_seconds: int | None
    # Its derivatives' rows (CardDerivative's fields), long edge largest first. Made into CardDerivatives only when
    # read: a card shown again comes from web/card_memo.py by its rows, so most pages never read them (a page of
    # cards holds ~85, and building each cost a Python call).
    derivative_rows: list[tuple] = field(default_factory=list)
    _derivatives: list[CardDerivative] | None = None

    @property
    def derivatives(self) -> list[CardDerivative]:
        """Long edge, largest first (as the model's)."""
        if self._derivatives is None:
            self._derivatives = [CardDerivative(*row) for row in self.derivative_rows]
        return self._derivatives

    best = MediaAsset.best  # same choice of file as the model's (it only reads .derivatives)


@dataclass(frozen=True, slots=True)
class CardImage:
    id: int
    alt_text: str
    asset: CardAsset


@dataclass(frozen=True, slots=True)
class CardAuthor:
    """A card's author when the page has no Account for it (home, feed): what cards and the hero show."""
    id: int
    username: str
    domain: str | None
    display_name: str
    avatar_asset: CardAsset | None

    name = Account.name  # display name, else the username (same property as the model's)


@dataclass(slots=True)
class CardWork:
    id: int
    account_id: int
    title: str
    state: str
    visibility: str
    sensitive: bool
    content_warning: str
    ai_label: str | None
    noai: bool
    pinned_at: datetime | None
    account: Any  # the page's Account (own pages) or a CardAuthor
    images: list[CardImage] = field(default_factory=list)  # by position
    # The rows this card was read from (card_from_row, then add_images): its work row, the number of images and
    # the cover's rows (image, asset and each derivative). Equal fingerprints mean equal cards, so web/card_memo.py
    # reuses a card's HTML by it without any invalidation; () = not read that way (never reused).
    fingerprint: tuple = ()

    cover = Artwork.cover  # the first image (same property as the model's)


WORK_COLUMNS = (Artwork.id, Artwork.account_id, Artwork.title, Artwork.state, Artwork.visibility, Artwork.sensitive,
                 Artwork.content_warning, Artwork.ai_label, Artwork.noai, Artwork.pinned_at)
_AUTHOR_COLUMNS = (Account.username, Account.domain, Account.display_name, Account.avatar_asset_id)
_ASSET_COLUMNS = (MediaAsset.id, MediaAsset.state, MediaAsset.width, MediaAsset.height, MediaAsset.focal_x,
                  MediaAsset.focal_y, MediaAsset.error_message, MediaAsset.progress, MediaAsset.eta_seconds)
_DERIVATIVE_COLUMNS = (MediaDerivative.id, MediaDerivative.long_edge, MediaDerivative.format, MediaDerivative.width,
                       MediaDerivative.height, MediaDerivative.key, MediaDerivative.public_copy)


def _assets(rows: Iterable[Any], offset: int) -> dict[int, CardAsset]:
    """Assets (with derivatives, in row order) from rows holding the asset's columns at `offset`, then the
    derivative's (NULL when an asset has none: outer join)."""
    assets: dict[int, CardAsset] = {}
    end = offset + len(_ASSET_COLUMNS)
    for row in rows:
        asset = assets.get(row[offset])
        if asset is None:
            asset = assets[row[offset]] = CardAsset(*row[offset:end])
        if row[end] is not None:
            asset.derivative_rows.append(row[end:end + len(_DERIVATIVE_COLUMNS)])
    return assets


# Built once (the ids bound at execution, an expanding IN): building a select costs more Python per request than
# running it on a small page (coercions, cache key generation).
_IMAGES = (select(ArtworkImage.artwork_id, ArtworkImage.id, ArtworkImage.alt_text, *_ASSET_COLUMNS,
                  *_DERIVATIVE_COLUMNS)
           .join(MediaAsset, MediaAsset.id == ArtworkImage.asset_id)
           .outerjoin(MediaDerivative, MediaDerivative.asset_id == MediaAsset.id)
           .where(ArtworkImage.artwork_id.in_(bindparam("ids", expanding=True)))
           .order_by(ArtworkImage.artwork_id, ArtworkImage.position, ArtworkImage.id,
                     MediaDerivative.long_edge.desc(), MediaDerivative.id))
_AVATARS = (select(*_ASSET_COLUMNS, *_DERIVATIVE_COLUMNS)
            .outerjoin(MediaDerivative, MediaDerivative.asset_id == MediaAsset.id)
            .where(MediaAsset.id.in_(bindparam("ids", expanding=True)))
            .order_by(MediaAsset.id, MediaDerivative.long_edge.desc(), MediaDerivative.id))


async def add_images(session: AsyncSession, works: dict[int, Any]) -> None:
    """Fill each work's `images` (CardImage, by position), by work id (CardWork or queries_artwork.ShownWork)."""
    rows = await core_rows(session, _IMAGES, {"ids": list(works)})
    assets = _assets(rows, 3)
    seen: set[int] = set()
    covers: dict[int, list[Any]] = {}  # work id -> its cover image's rows (one per derivative)
    for row in rows:
        work = works[row[0]]
        if row[1] not in seen:
            seen.add(row[1])
            work.images.append(CardImage(row[1], row[2], assets[row[3]]))
        if work.images[0].id == row[1]:  # plain tuples: comparing Rows runs Python code per column
            covers.setdefault(row[0], []).append(tuple(row))
    for key, work in works.items():
        if isinstance(work, CardWork) and work.fingerprint:  # seeded by card_from_row (not the artwork page's own)
            work.fingerprint = (work.fingerprint, len(work.images), tuple(covers.get(key, ())))


def card_from_row(row: Any, account: Any) -> CardWork:
    """A card from a row starting with WORK_COLUMNS; its fingerprint starts as that work row (add_images adds the
    images')."""
    work = tuple(row[:len(WORK_COLUMNS)])
    return CardWork(*work, account=account, fingerprint=work)


async def assets_with_derivatives(session: AsyncSession, ids: set[int]) -> dict[int, CardAsset]:
    """Assets by id with their derivatives (largest first), in one statement: avatars and banners."""
    if not ids:
        return {}
    return _assets(await core_rows(session, _AVATARS, {"ids": list(ids)}), 0)


def card_select(with_author: bool = True) -> Select:
    """The works' card columns (and their authors', joined, `with_author`): filter, order and limit it, then
    pass it to cards_from. Listings select from this directly, so a page of cards stays two statements."""
    if not with_author:
        return select(*WORK_COLUMNS)
    return select(*WORK_COLUMNS, *_AUTHOR_COLUMNS).join(Account, Account.id == Artwork.account_id)


async def cards_from(session: AsyncSession, query: Select, author: Account | None = None,
                     params: dict[str, Any] | None = None, extra: dict[int, tuple] | None = None) -> list[CardWork]:
    """Cards for the rows of `query` (from card_select; `author` given = card_select(with_author=False) and
    every work is this account's), in the query's order. Columns the caller added after the card's (author
    given only) land in `extra`, by work id."""
    rows = await core_rows(session, query, params)
    works: dict[int, CardWork] = {}
    authors: dict[int, tuple] = {}
    width = len(WORK_COLUMNS)
    for row in rows:
        works[row[0]] = card_from_row(row, author)
        if author is None:
            authors[row[1]] = tuple(row[width:])
        elif extra is not None:
            extra[row[0]] = tuple(row[width:])
    if author is None:
        avatars = await assets_with_derivatives(session, {row[3] for row in authors.values() if row[3] is not None})
        people = {key: CardAuthor(key, username, domain, name, avatars.get(avatar) if avatar else None)
                  for key, (username, domain, name, avatar) in authors.items()}
        for work in works.values():
            work.account = people[work.account_id]
    if works:
        await add_images(session, works)
    return list(works.values())
