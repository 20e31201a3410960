"""Read side of the client API: Mastodon-style keyset windows (max_id / since_id / min_id) over the listings the
pages already have, and the per-page facts a Mastodon entity needs (counts, the viewer's likes, boosts and
bookmarks, follower counts, avatars) fetched for a whole page in a few set-based statements, never per item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, lazyload

from cara_fed.db import UTCDateTime
from cara_fed.db_rows import core_rows
from cara_fed.models import (
    Account,
    Artwork,
    ArtworkImage,
    ArtworkTag,
    Block,
    Bookmark,
    Boost,
    Comment,
    Follow,
    Like,
    MediaAsset,
    MediaDerivative,
    Mute,
    Notification,
)
from cara_fed.queries import feed_params, feed_where_bound
from cara_fed.queries_accounts import SHOWN_ONLY
from cara_fed.queries_cards import CardAsset, assets_with_derivatives
from cara_fed.queries_discovery import _listed
from cara_fed.queries_safety import feed_filters
from cara_fed.queries_statuses import StatusWork, status_select, statuses_from


@dataclass(frozen=True)
class Window:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20


def _windowed(query: Select, column: Any, window: Window) -> tuple[Select, bool]:
    """`query` cut to the window, and whether it reads oldest first (min_id: the caller then reverses the rows)."""
    if window.max_id is not None:
        query = query.where(column < window.max_id)
    if window.since_id is not None:
        query = query.where(column > window.since_id)
    if window.min_id is not None:
        return query.where(column > window.min_id).order_by(column.asc()).limit(window.limit), True
    return query.order_by(column.desc()).limit(window.limit), False


async def keyset(session: AsyncSession, query: Select, column: Any, window: Window) -> list[Any]:
    """Rows newest first. max_id: older than it; since_id: newer than it (the newest ones); min_id: the ones
    right after it (oldest first, then returned newest first), as Mastodon pages."""
    query, oldest_first = _windowed(query, column, window)
    rows = list((await session.scalars(query)).unique().all())
    return rows[::-1] if oldest_first else rows


def bound_keyset(query: Select, column: Any, window: Window) -> Select:
    """`keyset`'s paging for a select built once: the cursors `window` has and the limit are bound parameters
    (keyset_params), so SQLAlchemy reuses the statement's cache key and compiled form instead of rebuilding and
    re-hashing a select with its loader options on every request."""
    if window.max_id is not None:
        query = query.where(column < bindparam("max_id"))
    if window.since_id is not None:
        query = query.where(column > bindparam("since_id"))
    if window.min_id is not None:
        return query.where(column > bindparam("min_id")).order_by(column.asc()).limit(bindparam("limit"))
    return query.order_by(column.desc()).limit(bindparam("limit"))


def keyset_params(window: Window) -> dict[str, Any]:
    cursors = {"max_id": window.max_id, "since_id": window.since_id, "min_id": window.min_id}
    return {name: value for name, value in cursors.items() if value is not None} | {"limit": window.limit}


def window_shape(window: Window) -> Window:
    """The window with its cursors reduced to whether they are set: the cache key of a built-once select."""
    return Window(*(0 if cursor is not None else None for cursor in (window.max_id, window.since_id, window.min_id)))


# A status shows its author (whose avatar comes from page_facts, for the whole page at once) and its images with
# their assets and derivatives, all joined into the one statement (SQLAlchemy limits the works in a subquery):
# two selectin round trips, each with an IN list rendered per page, cost ~15 % of an API home page's CPU.
# Tags come with the page's facts (page_facts), not as a query of their own.
STATUS_OPTIONS = (joinedload(Artwork.account).options(*SHOWN_ONLY),
                  joinedload(Artwork.account).lazyload(Account.avatar_asset),
                  joinedload(Artwork.account).lazyload(Account.banner_asset),
                  joinedload(Artwork.account).lazyload(Account.moved_to),  # web/api/views.py fills moves in
                  lazyload(Artwork.tags),
                  joinedload(Artwork.images).joinedload(ArtworkImage.asset)
                  .joinedload(MediaAsset.derivatives.and_(MediaDerivative.format == "jpeg")))


def with_status_options(query: Select) -> Select:
    return query.options(*STATUS_OPTIONS)


async def home_statuses(session: AsyncSession, viewer: Account, window: Window) -> list[StatusWork]:
    """One window of the viewer's home feed (queries.feed_where_bound's rules) as statuses, newest first."""
    tags, hidden = await feed_filters(session, viewer)
    query = _home_statuses_select(bool(tags), bool(hidden), window_shape(window))
    works = await statuses_from(session, query, feed_params(viewer, tags, hidden) | keyset_params(window))
    return works[::-1] if window.min_id is not None else works


@cache
def _home_statuses_select(tags: bool, hidden: bool, shape: Window) -> Select:
    # Built once per shape of feed and window: rebuilding and hashing a select per request for SQLAlchemy's cache
    # cost about 1 ms of a ~9 ms API home page (bench/surge.py's costliest request).
    return bound_keyset(status_select(select(Artwork).where(*feed_where_bound(tags, hidden))), Artwork.id, shape)


async def status_window(session: AsyncSession, query: Select, window: Window) -> list[StatusWork]:
    """`keyset`'s window of a select of works (timelines, account statuses), as plain-row statuses."""
    query, oldest_first = _windowed(status_select(query), Artwork.id, window)
    works = await statuses_from(session, query)
    return works[::-1] if oldest_first else works


def public_works(viewer: Account | None, *, local: bool = False, remote: bool = False) -> Select:
    """The public timeline: listed public works (the explore rules: opt-outs, silenced servers, blocks, mutes)."""
    query = _listed(viewer)
    if local:
        query = query.where(Account.domain.is_(None))
    elif remote:
        query = query.where(Account.domain.is_not(None))
    return query


def tag_works(viewer: Account | None, tag: str) -> Select:
    return _listed(viewer).where(Artwork.id.in_(select(ArtworkTag.artwork_id).where(ArtworkTag.tag == tag)))


async def popular_tags(session: AsyncSession, limit: int = 10) -> list[tuple[str, int]]:
    """Tags on the most listed works (all time: no per-day tag history is kept)."""
    listed = _listed(None).with_only_columns(ArtworkTag.tag, func.count()).join(
        ArtworkTag, ArtworkTag.artwork_id == Artwork.id)
    rows = await session.execute(listed.group_by(ArtworkTag.tag).order_by(func.count().desc(), ArtworkTag.tag)
                                 .limit(limit))
    return [(tag, count) for tag, count in rows.all()]


def account_works(account: Account, viewer: Account | None, *, followers_too: bool, pinned: bool = False) -> Select:
    """An account's works as its statuses: everything for the owner (with their processing state), otherwise
    the published ones the viewer may see."""
    query = select(Artwork).where(Artwork.account_id == account.id)
    if viewer is None or viewer.id != account.id:
        shown = ("public", "unlisted", "followers") if followers_too else ("public", "unlisted")
        query = query.where(Artwork.state == "published", Artwork.visibility.in_(shown))
    if pinned:
        query = query.where(Artwork.pinned_at.is_not(None))
    return query


# --- facts for a page of statuses ----------------------------------------------------------------


@dataclass
class StatusFacts:
    likes: dict[int, int] = field(default_factory=dict)
    boosts: dict[int, int] = field(default_factory=dict)
    replies: dict[int, int] = field(default_factory=dict)
    liked: set[int] = field(default_factory=set)
    boosted: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    tags: dict[int, list[str]] = field(default_factory=dict)


@dataclass
class AccountFacts:
    followers: dict[int, int] = field(default_factory=dict)
    following: dict[int, int] = field(default_factory=dict)
    works: dict[int, int] = field(default_factory=dict)
    last_work_at: dict[int, Any] = field(default_factory=dict)
    assets: dict[int, CardAsset] = field(default_factory=dict)  # avatar and banner assets by id (any state)


def _facts_statement(among: Callable[[Any, str], ColumnElement[bool]]) -> Any:
    """Built once with bound parameters (`ids`: artworks, `people`: accounts, `viewer`: 0 for nobody): SQLAlchemy
    then reuses its compiled form and cache key, and the database its prepared plan. `among(column, name)` is
    the membership test for a bound list of ids."""
    viewer = bindparam("viewer", type_=Integer)
    no_time, no_text = cast(null(), UTCDateTime), cast(null(), String)
    parts = [select(literal("like"), Like.artwork_id, func.count(), no_time, no_text)
             .where(among(Like.artwork_id, "ids")).group_by(Like.artwork_id),
             select(literal("boost"), Boost.artwork_id, func.count(), no_time, no_text)
             .where(among(Boost.artwork_id, "ids")).group_by(Boost.artwork_id),
             select(literal("reply"), Comment.artwork_id, func.count(), no_time, no_text)
             .where(among(Comment.artwork_id, "ids"), Comment.state == "visible").group_by(Comment.artwork_id),
             select(literal("tag"), ArtworkTag.artwork_id, literal(0), no_time, ArtworkTag.tag)
             .where(among(ArtworkTag.artwork_id, "ids")),
             *[select(literal(name), model.artwork_id, literal(1), no_time, no_text)
               .where(among(model.artwork_id, "ids"), model.account_id == viewer)
               for name, model in (("liked", Like), ("boosted", Boost), ("bookmarked", Bookmark))],
             select(literal("works"), Artwork.account_id, func.count(), func.max(Artwork.published_at), no_text)
             .where(among(Artwork.account_id, "people"), Artwork.state == "published",
                    Artwork.visibility.in_(("public", "unlisted"))).group_by(Artwork.account_id),
             select(literal("followers"), Follow.followee_id, func.count(), no_time, no_text)
             .where(among(Follow.followee_id, "people"), Follow.state == "accepted").group_by(Follow.followee_id),
             select(literal("following"), Follow.follower_id, func.count(), no_time, no_text)
             .where(among(Follow.follower_id, "people"), Follow.state == "accepted").group_by(Follow.follower_id)]
    return union_all(*parts)


def _in_list(column: Any, name: str) -> ColumnElement[bool]:
    return column.in_(bindparam(name, expanding=True))


def _in_array(column: Any, name: str) -> ColumnElement[bool]:
    return column == any_(bindparam(name, type_=postgresql.ARRAY(Integer)))


# On PostgreSQL the lists travel as one array parameter: the statement's text is the same for any number of ids,
# so it is rendered once and stays one prepared statement. An expanding IN is re-rendered for every page (about
# 5 % of an API home page's CPU) and makes a prepared statement per list length. SQLite has no arrays.
FACTS = {"postgresql": _facts_statement(_in_array), "sqlite": _facts_statement(_in_list)}


async def page_facts(session: AsyncSession, artwork_ids: Iterable[int], accounts: Iterable[Account],
                     viewer_id: int | None) -> tuple[StatusFacts, AccountFacts]:
    """Everything a page of statuses and accounts needs beyond their rows, in one UNION ALL statement (counts,
    tags, the viewer's likes, boosts and bookmarks; follower, following and work counts), plus one for the
    avatars and banners when any are set."""
    ids = sorted(set(artwork_ids))
    people = {a.id: a for a in accounts}
    statuses, found = StatusFacts(), AccountFacts()
    if ids or people:
        statement = FACTS["postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"]
        if session.new or session.dirty or session.deleted:
            await session.flush()  # a like or boost just added counts (plain rows skip the session's autoflush)
        rows = await core_rows(session, statement, {"ids": ids, "people": sorted(people), "viewer": viewer_id or 0})
        for kind, row_id, count, last, text in rows:
            if kind in ("like", "boost", "reply"):
                {"like": statuses.likes, "boost": statuses.boosts, "reply": statuses.replies}[kind][row_id] = count
            elif kind == "tag":
                statuses.tags.setdefault(row_id, []).append(text)
            elif kind in ("liked", "boosted", "bookmarked"):
                getattr(statuses, kind).add(row_id)
            else:
                getattr(found, kind)[row_id] = count
                if kind == "works" and last is not None:
                    if isinstance(last, str):  # SQLite returns the MAX of a UNION column as text
                        last = datetime.fromisoformat(last)
                    found.last_work_at[row_id] = last if last.tzinfo else last.replace(tzinfo=UTC)
    for tags in statuses.tags.values():
        tags.sort()
    asset_ids = {i for a in people.values() for i in (a.avatar_asset_id, a.banner_asset_id) if i is not None}
    if asset_ids:  # plain rows, one statement (as ORM entities: the assets, then their derivatives)
        found.assets = await assets_with_derivatives(session, asset_ids)
    return statuses, found


# --- relationships -------------------------------------------------------------------------------


@dataclass
class Relation:
    following: bool = False
    requested: bool = False
    followed_by: bool = False
    requested_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False


async def relations(session: AsyncSession, viewer: Account, ids: list[int]) -> dict[int, Relation]:
    """The viewer's relationship to each account, in one UNION ALL statement."""
    found: dict[int, Relation] = defaultdict(Relation)
    ids = sorted(set(ids))[:80]
    if not ids:
        return {}
    rows = await session.execute(union_all(
        select(literal("out"), Follow.followee_id, Follow.state).where(
            Follow.follower_id == viewer.id, Follow.followee_id.in_(ids), Follow.state.in_(("requested", "accepted"))),
        select(literal("in"), Follow.follower_id, Follow.state).where(
            Follow.followee_id == viewer.id, Follow.follower_id.in_(ids), Follow.state.in_(("requested", "accepted"))),
        select(literal("blocking"), Block.target_id, literal("")).where(Block.account_id == viewer.id,
                                                                        Block.target_id.in_(ids)),
        select(literal("blocked_by"), Block.account_id, literal("")).where(Block.target_id == viewer.id,
                                                                           Block.account_id.in_(ids)),
        select(literal("muting"), Mute.target_id, literal("")).where(Mute.account_id == viewer.id,
                                                                     Mute.target_id.in_(ids))))
    for kind, account_id, state in rows.all():
        relation = found[account_id]
        if kind == "out":
            relation.following, relation.requested = state == "accepted", state == "requested"
        elif kind == "in":
            relation.followed_by, relation.requested_by = state == "accepted", state == "requested"
        else:
            setattr(relation, kind, True)
    return {i: found[i] for i in ids}


# --- notifications -------------------------------------------------------------------------------

# Our notification kinds as Mastodon's types. Comments on a work, replies and mentions are all "mention":
# the status is the comment. Job-board kinds have no Mastodon type; the API leaves them out.
TYPE_OF_KIND = {"follow": "follow", "follow_request": "follow_request", "like": "favourite", "boost": "reblog",
                "comment": "mention", "reply": "mention", "mention": "mention"}


def kinds_for(types: list[str], exclude: list[str]) -> list[str]:
    wanted = set(types) if types else set(TYPE_OF_KIND.values())
    wanted -= set(exclude)
    return sorted(kind for kind, type_ in TYPE_OF_KIND.items() if type_ in wanted)


async def notifications(session: AsyncSession, account: Account, window: Window, kinds: list[str],
                        from_account_id: int | None = None) -> list[Notification]:
    clause: ColumnElement[bool] = Notification.kind.in_(kinds) & or_(
        Notification.object_type.in_(("artwork", "comment", "follow")), Notification.object_type == "")
    query = select(Notification).where(Notification.account_id == account.id, clause)
    if from_account_id is not None:
        query = query.where(Notification.actor_id == from_account_id)
    return await keyset(session, query, Notification.id, window)


async def comments_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Comment]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(select(Comment).where(Comment.id.in_(wanted), Comment.state == "visible"))
    return {c.id: c for c in rows.unique().all()}


async def artworks_by_ids(session: AsyncSession, ids: Iterable[int]) -> dict[int, Artwork]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.scalars(with_status_options(select(Artwork).where(Artwork.id.in_(wanted))))
    return {a.id: a for a in rows.unique().all()}
