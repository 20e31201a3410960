"""The client API's timelines and account statuses read as plain rows (issue 15: the API home timeline was the
surge's costliest request).

As ORM entities, a page of 20 statuses was one statement joining each work to its author and to every JPEG
derivative of every image: the author's columns (keys and sources included) repeated on each of those rows, and
~190 identity-mapped objects built per page. Measured in process on bench/surge.py's data with an artist's real
row sizes (keys, a bio, six JPEG derivatives per image): 6.7 ms of CPU per page, 4.7 ms of it in that statement.

Here: the works' columns (one row per work), then their images with assets and JPEG derivatives as plain tuples,
then their authors as plain rows of the columns the Account entity shows (as ORM accounts, with the columns no
entity shows deferred, they were ~14 % of an API home page's CPU on bench/surge.py's data); an author who moved gets
the account it moved to as an ORM Account (rare: one more statement). The dataclasses carry the models' attribute
names, so web/api/entities_statuses.py renders them as it renders `Artwork` rows, to the same JSON
(tests/web/test_api_statuses_rows.py compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative
from cara_fed.queries_accounts import move_targets
from cara_fed.queries_cards import CardDerivative


@dataclass(slots=True)
class StatusAsset:
    id: int
    state: str
    focal_x: float
    focal_y: float
    blurhash: str | None
    progress: int
    derivatives: list[CardDerivative] = field(default_factory=list)  # JPEG only, largest first

    best = MediaAsset.best  # the model's choice of file (it reads only .derivatives)


@dataclass(frozen=True, slots=True)
class StatusImage:
    id: int
    asset_id: int
    alt_text: str
    asset: StatusAsset


@dataclass(slots=True)
class StatusAuthor:
    """A status's author: the columns the Account entity reads (web/api/entities_accounts.py), in this order."""
    id: int
    username: str
    domain: str | None
    display_name: str
    status: str
    locked: bool
    discoverable: bool
    indexable: bool
    actor_type: str
    bio_html: str
    links: list
    uri: str | None
    url: str | None
    avatar_asset_id: int | None
    banner_asset_id: int | None
    moved_to_id: int | None
    created_at: datetime
    moved_target: Account | None = None  # the account it moved to (statuses_from fills it in)

    is_local = Account.is_local
    name = Account.name


@dataclass(slots=True)
class StatusWork:
    id: int
    account_id: int
    state: str
    title: str
    description: str
    description_html: str
    field: str
    medium: str
    software: list
    content_warning: str
    sensitive: bool
    license: str
    visibility: str
    noai: bool
    ai_label: str | None
    cloak: bool
    cloaked: dict | None
    comment_policy: str
    pinned_at: datetime | None
    uri: str | None
    url: str | None
    created_at: datetime
    published_at: datetime | None
    edited_at: datetime | None
    mentions: list
    account: Any = None  # its author (a StatusAuthor)
    images: list[StatusImage] = field(default_factory=list)  # by position

    cover = Artwork.cover


# In StatusWork's field order.
STATUS_COLUMNS = (Artwork.id, Artwork.account_id, Artwork.state, Artwork.title, Artwork.description,
                  Artwork.description_html, Artwork.field, Artwork.medium, Artwork.software, Artwork.content_warning,
                  Artwork.sensitive, Artwork.license, Artwork.visibility, Artwork.noai, Artwork.ai_label,
                  Artwork.cloak, Artwork.cloaked, Artwork.comment_policy, Artwork.pinned_at, Artwork.uri, Artwork.url,
                  Artwork.created_at, Artwork.published_at, Artwork.edited_at, Artwork.mentions)

_ASSET = (MediaAsset.id, MediaAsset.state, MediaAsset.focal_x, MediaAsset.focal_y, MediaAsset.blurhash,
          MediaAsset.progress)
_DERIVATIVE = (MediaDerivative.id, MediaDerivative.long_edge, MediaDerivative.format, MediaDerivative.width,
               MediaDerivative.height, MediaDerivative.key, MediaDerivative.public_copy)

# Built once (the ids bound at execution). The entities link JPEG files only (MediaAttachment url and preview).
_IMAGES = (select(ArtworkImage.artwork_id, ArtworkImage.id, ArtworkImage.asset_id, ArtworkImage.alt_text, *_ASSET,
                  *_DERIVATIVE)
           .join(MediaAsset, MediaAsset.id == ArtworkImage.asset_id)
           .outerjoin(MediaDerivative,
                      and_(MediaDerivative.asset_id == MediaAsset.id, MediaDerivative.format == "jpeg"))
           .where(ArtworkImage.artwork_id.in_(bindparam("ids", expanding=True)))
           .order_by(ArtworkImage.artwork_id, ArtworkImage.position, ArtworkImage.id,
                     MediaDerivative.long_edge.desc(), MediaDerivative.id))
AUTHOR_COLUMNS = (Account.id, Account.username, Account.domain, Account.display_name, Account.status, Account.locked,
                  Account.discoverable, Account.indexable, Account.actor_type, Account.bio_html, Account.links,
                  Account.uri, Account.url, Account.avatar_asset_id, Account.banner_asset_id, Account.moved_to_id,
                  Account.created_at)
_AUTHORS = select(*AUTHOR_COLUMNS).where(Account.id.in_(bindparam("ids", expanding=True)))


def status_select(query: Select) -> Select:
    """A select of works (`select(Artwork)` with its filters and joins) reading StatusWork's columns instead."""
    return query.with_only_columns(*STATUS_COLUMNS, maintain_column_froms=True)


async def statuses_from(session: AsyncSession, query: Select, params: dict[str, Any] | None = None
                        ) -> list[StatusWork]:
    """The works `query` (from status_select, ordered and limited) finds, in its order, with images and authors:
    three statements, whatever the number of works."""
    works = [StatusWork(*row) for row in await core_rows(session, query, params)]
    if not works:
        return works
    by_id = {work.id: work for work in works}
    rows = await core_rows(session, _AUTHORS, {"ids": sorted({work.account_id for work in works})})
    people = {row[0]: StatusAuthor(*row) for row in rows}
    moved = [author for author in people.values() if author.moved_to_id is not None]
    if moved:
        targets = await move_targets(session, {author.moved_to_id for author in moved})
        for author in moved:
            author.moved_target = targets.get(author.moved_to_id)
    for work in works:
        work.account = people[work.account_id]
    assets: dict[int, StatusAsset] = {}
    derivatives: set[int] = set()  # an asset may be shown by several images (its rows then repeat)
    asset_end = 4 + len(_ASSET)
    for row in await core_rows(session, _IMAGES, {"ids": list(by_id)}):
        work = by_id[row[0]]
        asset = assets.get(row[2])
        if asset is None:
            asset = assets[row[2]] = StatusAsset(*row[4:asset_end])
        if not work.images or work.images[-1].id != row[1]:
            work.images.append(StatusImage(row[1], row[2], row[3], asset))
        if row[asset_end] is not None and row[asset_end] not in derivatives:
            derivatives.add(row[asset_end])
            asset.derivatives.append(CardDerivative(*row[asset_end:]))
    return works
