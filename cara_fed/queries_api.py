"""Read side of the client API: Mastodon-style keyset windows (max_id / since_id / min_id) over the listings the
pages already have, and the per-page facts a Mastodon entity needs (counts, the viewer's likes, boosts and
bookmarks, follower counts, avatars) fetched for a whole page in a few set-based statements, never per item."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, func, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from cara_fed.db import UTCDateTime
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
    Mute,
    Notification,
)
from cara_fed.queries_discovery import _listed


@dataclass(frozen=True)
class Window:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20


async def keyset(session: AsyncSession, query: Select, column: Any, window: Window) -> list[Any]:
    """Rows newest first. max_id: older than it; since_id: newer than it (the newest ones); min_id: the ones
    right after it (oldest first, then returned newest first), as Mastodon pages."""
    if window.max_id is not None:
        query = query.where(column < window.max_id)
    if window.since_id is not None:
        query = query.where(column > window.since_id)
    if window.min_id is not None:
        rows = (await session.scalars(query.where(column > window.min_id).order_by(column.asc())
                                      .limit(window.limit))).unique().all()
        return list(reversed(rows))
    return list((await session.scalars(query.order_by(column.desc()).limit(window.limit))).unique().all())


# A status shows its author (whose avatar comes from account_facts, for the whole page at once), its images with
# their assets and derivatives, and its tags (which the page cards skip).
STATUS_OPTIONS = (joinedload(Artwork.account).lazyload(Account.avatar_asset),
                  joinedload(Artwork.account).lazyload(Account.banner_asset), selectinload(Artwork.tags),
                  selectinload(Artwork.images).joinedload(ArtworkImage.asset))


def with_status_options(query: Select) -> Select:
    return query.options(*STATUS_OPTIONS)


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


async def status_facts(session: AsyncSession, artwork_ids: Iterable[int], viewer_id: int | None) -> StatusFacts:
    """Counts and the viewer's own marks for these artworks: one UNION ALL statement."""
    ids = sorted(set(artwork_ids))
    facts = StatusFacts()
    if not ids:
        return facts
    parts = [select(literal("like"), Like.artwork_id, func.count()).where(Like.artwork_id.in_(ids))
             .group_by(Like.artwork_id),
             select(literal("boost"), Boost.artwork_id, func.count()).where(Boost.artwork_id.in_(ids))
             .group_by(Boost.artwork_id),
             select(literal("reply"), Comment.artwork_id, func.count())
             .where(Comment.artwork_id.in_(ids), Comment.state == "visible").group_by(Comment.artwork_id)]
    if viewer_id is not None:
        parts += [select(literal(name), model.artwork_id, literal(1)).where(model.artwork_id.in_(ids),
                                                                             model.account_id == viewer_id)
                  for name, model in (("liked", Like), ("boosted", Boost), ("bookmarked", Bookmark))]
    for kind, artwork_id, count in (await session.execute(union_all(*parts))).all():
        if kind in ("like", "boost", "reply"):
            {"like": facts.likes, "boost": facts.boosts, "reply": facts.replies}[kind][artwork_id] = count
        else:
            getattr(facts, kind).add(artwork_id)
    return facts


@dataclass
class AccountFacts:
    followers: dict[int, int] = field(default_factory=dict)
    following: dict[int, int] = field(default_factory=dict)
    works: dict[int, int] = field(default_factory=dict)
    last_work_at: dict[int, Any] = field(default_factory=dict)
    assets: dict[int, MediaAsset] = field(default_factory=dict)  # avatar and banner assets by id


async def account_facts(session: AsyncSession, accounts: Iterable[Account]) -> AccountFacts:
    """Follower/following/work counts and avatar/banner assets for these accounts: two statements."""
    people = {a.id: a for a in accounts}
    facts = AccountFacts()
    if not people:
        return facts
    ids = sorted(people)
    no_time = cast(null(), UTCDateTime)  # typed, so PostgreSQL can unite it with the MAX below
    parts = [select(literal("works"), Artwork.account_id, func.count(), func.max(Artwork.published_at))
             .where(Artwork.account_id.in_(ids), Artwork.state == "published",
                    Artwork.visibility.in_(("public", "unlisted"))).group_by(Artwork.account_id),
             select(literal("followers"), Follow.followee_id, func.count(), no_time)
             .where(Follow.followee_id.in_(ids), Follow.state == "accepted").group_by(Follow.followee_id),
             select(literal("following"), Follow.follower_id, func.count(), no_time)
             .where(Follow.follower_id.in_(ids), Follow.state == "accepted").group_by(Follow.follower_id)]
    for kind, account_id, count, last in (await session.execute(union_all(*parts))).all():
        getattr(facts, kind)[account_id] = count
        if kind == "works" and last is not None:
            if isinstance(last, str):  # SQLite returns the MAX of a UNION column as text
                last = datetime.fromisoformat(last)
            facts.last_work_at[account_id] = last if last.tzinfo else last.replace(tzinfo=UTC)
    asset_ids = {i for a in people.values() for i in (a.avatar_asset_id, a.banner_asset_id) if i is not None}
    if asset_ids:
        rows = await session.scalars(select(MediaAsset).where(MediaAsset.id.in_(asset_ids),
                                                              MediaAsset.state == "ready"))
        facts.assets = {asset.id: asset for asset in rows.unique().all()}
    return facts


def merge_facts(into: AccountFacts, more: AccountFacts) -> AccountFacts:
    for name in ("followers", "following", "works", "last_work_at", "assets"):
        getattr(into, name).update(getattr(more, name))
    return into


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
