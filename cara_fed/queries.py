"""Read-side queries shared by the edges (pages, API, federation). Writers live in services/."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Integer, Select, bindparam, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, lazyload, selectinload

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, ArtworkImage, ArtworkTag, Follow, Project, ProjectItem
from cara_fed.queries_accounts import LEAN, complete
from cara_fed.queries_cards import CardWork, card_select, cards_from
from cara_fed.queries_safety import blocked_either_way, feed_filters

PAGE_SIZE = 24
# Feed cards show the cover and the artist's name only: don't load tags, avatars and banners for them.
# Cards need the author (without avatar/banner) and each image's asset with its derivatives: the asset joins
# onto the images query, so a page of cards costs three statements (works, images+assets, derivatives). Joining
# the derivatives too saves a statement but multiplies the rows the ORM must process (about 8 per image): it
# measured 1.5-2x more CPU per page, so they stay a selectin.
CARD_OPTIONS = (joinedload(Artwork.account).lazyload(Account.avatar_asset),
                joinedload(Artwork.account).lazyload(Account.banner_asset), lazyload(Artwork.tags),
                selectinload(Artwork.images).joinedload(ArtworkImage.asset))
# (The portfolio, home and /feed pages read their cards as plain rows instead: cara_fed/queries_cards.py; the
# artwork page its works too: cara_fed/queries_artwork.py.)


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: int | None  # pass as `before` to get the next page (keyset: stable under inserts)


def _card_page(rows: list[CardWork], limit: int) -> Page:
    """A page of plain-row cards from one more than `limit` rows, newest first (see _paged_cards)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def _paged_cards(query: Select, paged: bool) -> Select:
    """A card_select query as a page, newest first, its cursor (`before`, when `paged`) and limit bound at execution:
    for selects built once."""
    if paged:
        query = query.where(Artwork.id < bindparam("before"))
    return query.order_by(Artwork.id.desc()).limit(bindparam("limit"))


async def _page(session: AsyncSession, query: Select, before: int | None, limit: int) -> Page:
    if before is not None:
        query = query.where(Artwork.id < before)
    rows = list((await session.scalars(query.order_by(Artwork.id.desc()).limit(limit + 1))).unique().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def _latest_public_where(query: Select) -> Select:
    return query.where(Artwork.state == "published", Artwork.visibility == "public", Account.status == "active",
                       Account.domain.is_(None))


# Built once, first page and later ones: building it cost more CPU per home page than running it.
_LATEST_PUBLIC = {paged: _paged_cards(_latest_public_where(card_select()), paged) for paged in (False, True)}


async def latest_public_cards(session: AsyncSession, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """The newest public works of active local accounts, as plain-row cards (the home page)."""
    params: dict[str, Any] = {"limit": limit + 1} if before is None else {"limit": limit + 1, "before": before}
    return _card_page(await cards_from(session, _LATEST_PUBLIC[before is not None], params=params), limit)


# Built once (the name bound at execution): every portfolio and artwork page looks its artist up.
# Its avatar, banner and move target are read only when it has them (cara_fed/queries_accounts.py).
_LOCAL_ACCOUNT = (select(Account).options(*LEAN)
                  .where(Account.username == bindparam("username"), Account.domain.is_(None)))


async def local_account(session: AsyncSession, username: str) -> Account | None:
    account = await session.scalar(_LOCAL_ACCOUNT, {"username": username.lower()})
    if account is not None:
        await complete(session, [account])
    return account


class _Status(Protocol):
    @property
    def status(self) -> str: ...


class ViewableWork(Protocol):
    """What the visibility checks read of a work: an Artwork, or the artwork page's plain ShownWork
    (cara_fed/queries_artwork.py, which imports this module: hence a protocol, not that class)."""

    @property
    def account_id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def visibility(self) -> str: ...
    @property
    def account(self) -> _Status: ...


def can_view(artwork: ViewableWork, viewer: Account | None) -> bool:
    if viewer is not None and viewer.id == artwork.account_id:
        return True
    if artwork.state != "published" or artwork.account.status != "active":
        return False
    return artwork.visibility in ("public", "unlisted")  # followers-only: the follow graph decides (federation)


def portfolio_where(query: Select, account_id: Any, everything: bool) -> Select:
    """An artist's works (`account_id`: an id or a bind parameter): all of them for the owner (`everything`), else
    the visible ones."""
    query = query.where(Artwork.account_id == account_id)
    if not everything:
        query = query.where(Artwork.state == "published", Artwork.visibility.in_(("public", "unlisted")))
    return query


def _own(account: Account, viewer: Account | None) -> bool:
    return viewer is not None and viewer.id == account.id


async def portfolio(session: AsyncSession, account: Account, viewer: Account | None, before: int | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """An artist's works: all of them for the owner (with processing state), else the visible ones."""
    return await _page(session, portfolio_where(select(Artwork), account.id, _own(account, viewer)), before, limit)


def _pinned_where(query: Select, account_id: Any) -> Select:
    return query.where(Artwork.account_id == account_id, Artwork.pinned_at.is_not(None),
                       Artwork.state == "published", Artwork.visibility.in_(("public", "unlisted"))
                       ).order_by(Artwork.pinned_at.desc())


async def pinned(session: AsyncSession, account: Account) -> list[Artwork]:
    return list((await session.scalars(_pinned_where(select(Artwork), account.id))).all())


@dataclass(frozen=True)
class PortfolioCards:
    page: Page
    pinned: list[CardWork]
    covers: dict[int, CardWork]


@cache
def _portfolio_cards_select(everything: bool, paged: bool, with_covers: bool) -> Select:
    """portfolio_cards' works select for one shape of request, built once (ids, cursor and limit bound at
    execution): building it cost more CPU per portfolio page than running it."""
    account_id = bindparam("account_id")
    query = portfolio_where(select(Artwork.id), account_id, everything)
    if paged:
        query = query.where(Artwork.id < bindparam("before"))
    page_ids = select(query.order_by(Artwork.id.desc()).limit(bindparam("page_limit")).subquery().c.id)
    pinned_ids = _pinned_where(select(Artwork.id), account_id).order_by(None)
    wanted = [Artwork.id.in_(page_ids), Artwork.id.in_(pinned_ids)]
    if with_covers:
        wanted.append(Artwork.id.in_(bindparam("cover_ids", expanding=True)))
    return (card_select(with_author=False).add_columns(Artwork.id.in_(page_ids).label("on_page"),
                                                        Artwork.id.in_(pinned_ids).label("pinned"))
            # All are the artist's: the account filter lets the database use its index instead of testing every
            # work against the ORed subqueries (PostgreSQL cannot turn an OR of IN-subqueries into an index lookup).
            .where(Artwork.account_id == account_id, or_(*wanted)))


async def portfolio_cards(session: AsyncSession, account: Account, viewer: Account | None, before: int | None,
                          cover_ids: list[int], limit: int = PAGE_SIZE) -> PortfolioCards:
    """The portfolio page's works (the page, the pinned ones, the project covers) as plain-row cards in two
    statements: the works, each marked as on the page and/or pinned (the page's and the pinned ids are
    subqueries of that one select), then their images. Covers are the artist's own works (projects only hold
    their own)."""
    query = _portfolio_cards_select(_own(account, viewer), before is not None, bool(cover_ids))
    params: dict[str, Any] = {"account_id": account.id, "page_limit": limit + 1}
    if before is not None:
        params["before"] = before
    if cover_ids:
        params["cover_ids"] = cover_ids
    marks: dict[int, tuple] = {}
    found = await cards_from(session, query, account, params=params, extra=marks)
    on_page = sorted((work for work in found if marks[work.id][0]), key=lambda work: work.id, reverse=True)
    more = len(on_page) > limit
    on_page = on_page[:limit]
    pinned = sorted((work for work in found if marks[work.id][1]), key=lambda work: work.pinned_at, reverse=True)
    covers = {work.id: work for work in found if work.id in cover_ids}
    return PortfolioCards(Page(on_page, on_page[-1].id if more and on_page else None), pinned, covers)


# Built once (the account bound at execution). The items join on (one statement, not two): a project lists a few
# dozen works at most.
_PROJECTS = (select(Project).where(Project.account_id == bindparam("account_id")).options(joinedload(Project.items))
             .order_by(Project.position, Project.id))


async def projects(session: AsyncSession, account: Account) -> list[Project]:
    return list((await session.scalars(_PROJECTS, {"account_id": account.id})).unique().all())


@dataclass(frozen=True, slots=True)
class ProjectCard:
    """A project as the portfolio lists it: its cover comes from the page's cards (PortfolioCards.covers)."""
    id: int
    title: str
    cover_artwork_id: int | None
    works: int


# Plain rows (one statement, no ORM entities: a Project and its items cost ~0.5 ms per page as entities, even for
# one project). Built once, the account bound at execution.
_PROJECT_CARDS = (select(Project.id, Project.title, Project.cover_artwork_id, func.count(ProjectItem.id))
                  .outerjoin(ProjectItem, ProjectItem.project_id == Project.id)
                  .where(Project.account_id == bindparam("account_id"))
                  .group_by(Project.id, Project.title, Project.cover_artwork_id, Project.position)
                  .order_by(Project.position, Project.id))


async def project_cards(session: AsyncSession, account_id: int) -> list[ProjectCard]:
    return [ProjectCard(*row) for row in await core_rows(session, _PROJECT_CARDS, {"account_id": account_id})]


async def artworks_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Artwork]:
    if not ids:
        return {}
    rows = (await session.scalars(select(Artwork).where(Artwork.id.in_(ids)))).unique().all()
    return {a.id: a for a in rows}


# One round trip for both counts; built once (it has no parameters).
_LOCAL_COUNTS = select(
    select(func.count()).select_from(Account).where(
        Account.domain.is_(None), Account.status == "active", Account.kind != "application").scalar_subquery(),
    select(func.count()).select_from(Artwork).join(Account).where(
        Account.domain.is_(None), Artwork.state == "published").scalar_subquery())


async def count_local(session: AsyncSession) -> tuple[int, int]:
    [found] = await core_rows(session, _LOCAL_COUNTS)
    return found[0] or 0, found[1] or 0


# --- Follows and the home feed -------------------------------------------------------------------


async def follow_between(session: AsyncSession, follower_id: int, followee_id: int) -> Follow | None:
    return await session.scalar(select(Follow).where(Follow.follower_id == follower_id,
                                                     Follow.followee_id == followee_id))


async def is_follower(session: AsyncSession, viewer: Account | None, author_id: int) -> bool:
    if viewer is None:
        return False
    follow = await follow_between(session, viewer.id, author_id)
    return follow is not None and follow.state == "accepted"


async def can_view_async(session: AsyncSession, artwork: ViewableWork, viewer: Account | None) -> bool:
    """can_view plus followers-only works for accepted followers; nothing across a block (either way)."""
    if viewer is not None and viewer.id != artwork.account_id \
            and await blocked_either_way(session, viewer.id, artwork.account_id):
        return False
    if can_view(artwork, viewer):
        return True
    return (artwork.state == "published" and artwork.visibility == "followers"
            and await is_follower(session, viewer, artwork.account_id))


async def _follow_page(session: AsyncSession, query: Select, before: int | None, limit: int) -> tuple[list, int | None]:
    if before is not None:
        query = query.where(Follow.id < before)
    rows = list((await session.scalars(query.order_by(Follow.id.desc()).limit(limit + 1))).unique().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


async def followers(session: AsyncSession, account: Account, before: int | None = None, limit: int = 40):  # type: ignore[no-untyped-def]
    return await _follow_page(session, select(Follow).where(Follow.followee_id == account.id,
                                                            Follow.state == "accepted"), before, limit)


async def following(session: AsyncSession, account: Account, before: int | None = None, limit: int = 40):  # type: ignore[no-untyped-def]
    return await _follow_page(session, select(Follow).where(Follow.follower_id == account.id,
                                                            Follow.state == "accepted"), before, limit)


async def follow_requests(session: AsyncSession, account: Account) -> list[Follow]:
    return list((await session.scalars(select(Follow).where(
        Follow.followee_id == account.id, Follow.state == "requested").order_by(Follow.id))).unique().all())


async def count_follows(session: AsyncSession, account: Account) -> tuple[int, int]:
    followers_count = await session.scalar(select(func.count()).select_from(Follow).where(
        Follow.followee_id == account.id, Follow.state == "accepted"))
    following_count = await session.scalar(select(func.count()).select_from(Follow).where(
        Follow.follower_id == account.id, Follow.state == "accepted"))
    return followers_count or 0, following_count or 0


async def home_feed(session: AsyncSession, viewer: Account, before: int | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """Works by accounts the viewer follows (local and remote) and their own, newest first (keyset on id), as ORM
    rows from a statement built per call: bench/feed.py measures it against the built-once plain-row select that
    the /feed page and the API use."""
    query = select(Artwork).where(*await _home_feed_where(session, viewer)).options(*CARD_OPTIONS)
    return await _page(session, query, before, limit)


async def home_feed_cards(session: AsyncSession, viewer: Account, before: int | None = None,
                          limit: int = PAGE_SIZE) -> Page:
    """home_feed as plain-row cards (the /feed page)."""
    tags, hidden = await feed_filters(session, viewer)
    params = feed_params(viewer, tags, hidden) | {"limit": limit + 1}
    if before is not None:
        params["before"] = before
    query = _feed_cards_select(bool(tags), bool(hidden), before is not None)
    return _card_page(await cards_from(session, query, params=params), limit)


@cache
def _feed_cards_select(tags: bool, hidden: bool, paged: bool) -> Select:
    """home_feed_cards' select for one shape of feed (with followed tags, with hidden accounts, paged), built once:
    building it cost more CPU per feed page than running it. Viewer, tags, hidden ids, cursor and limit are bound
    at execution."""
    return _paged_cards(card_select().where(*feed_where_bound(tags, hidden)), paged)


def feed_where_bound(tags: bool, hidden: bool) -> list[Any]:
    """The home feed's conditions for a select built once: `viewer_id`, and `tags` and `hidden` (lists) when the
    viewer has any, bound at execution (feed_params)."""
    return _feed_where(bindparam("viewer_id", type_=Integer), bindparam("tags", expanding=True) if tags else None,
                       bindparam("hidden", expanding=True) if hidden else None)


def feed_params(viewer: Account, tags: list[str], hidden: list[int]) -> dict[str, Any]:
    """feed_where_bound's values for this viewer (feed_filters' answer)."""
    params: dict[str, Any] = {"viewer_id": viewer.id}
    for name, value in (("tags", tags), ("hidden", hidden)):
        if value:
            params[name] = value
    return params


async def _home_feed_where(session: AsyncSession, viewer: Account) -> list[Any]:
    # Read the viewer's followed tags and hidden accounts first (tiny lookups), so the feed query only
    # carries the clauses that matter: a simpler plan that is cheaper to plan and to run.
    tags, hidden = await feed_filters(session, viewer)
    return _feed_where(viewer.id, tags or None, hidden or None)


def _feed_where(viewer_id: Any, tags: Any, hidden: Any) -> list[Any]:
    """The home feed's conditions; each argument a value or a bind parameter, `tags` and `hidden` None when the
    viewer has none."""
    # The authors (followed accounts and the viewer) as one IN-list, so the database starts from their works
    # through the account index. Written as "followed works OR own works", PostgreSQL walked every work newest
    # first and filtered: 357,000 rows read, about 0.3 s, for a feed at a million works (bench/surge.py).
    authors = union_all(select(Follow.followee_id).where(Follow.follower_id == viewer_id,
                                                         Follow.state == "accepted"),
                        select(literal(viewer_id) if isinstance(viewer_id, int) else viewer_id))
    by_authors = Artwork.account_id.in_(authors) & (Artwork.visibility.in_(("public", "unlisted", "followers"))
                                                    | (Artwork.account_id == viewer_id))
    wanted = by_authors
    if tags is not None:  # followed tags add listed public works (the tag page's rules: discoverable, indexable,
        # active)
        tagged = (select(ArtworkTag.artwork_id).join(Artwork, Artwork.id == ArtworkTag.artwork_id)
                  .join(Account, Account.id == Artwork.account_id)
                  .where(ArtworkTag.tag.in_(tags), Artwork.visibility == "public", Account.status == "active",
                         Account.discoverable.is_(True), Account.indexable.is_(True)))
        # One IN over both sets, not an OR of two conditions (which again reads every work newest first).
        wanted = Artwork.id.in_(union_all(select(Artwork.id).where(by_authors), tagged))
    where = [Artwork.state == "published", wanted]
    if hidden is not None:
        where.append(Artwork.account_id.not_in(hidden))
    return where


async def remote_account(session: AsyncSession, username: str, domain: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.username == username.lower(),
                                                      Account.domain == domain.lower()))
