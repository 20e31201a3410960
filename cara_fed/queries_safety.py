"""Block and mute filters shared by every listing of other people's works (home feed, explore, tags, search)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, bindparam, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, Block, Follow, Mute, TagFollow


def not_hidden_from(viewer: Account | None) -> ColumnElement[bool] | None:
    """Works of accounts the viewer blocked or muted, or who blocked the viewer, stay out of their listings."""
    if viewer is None:
        return None
    blocked = select(Block.target_id).where(Block.account_id == viewer.id)
    blockers = select(Block.account_id).where(Block.target_id == viewer.id)
    muted = select(Mute.target_id).where(Mute.account_id == viewer.id)
    return and_(Artwork.account_id.not_in(blocked), Artwork.account_id.not_in(blockers),
                Artwork.account_id.not_in(muted))


# Built once (the viewer bound at execution): every feed page and stream reads it.
_FEED_FILTERS = union_all(
    select(literal("tag"), TagFollow.tag, literal(0)).where(TagFollow.account_id == bindparam("viewer_id")),
    select(literal("hide"), literal(""), Block.target_id).where(Block.account_id == bindparam("viewer_id")),
    select(literal("hide"), literal(""), Block.account_id).where(Block.target_id == bindparam("viewer_id")),
    select(literal("hide"), literal(""), Mute.target_id).where(Mute.account_id == bindparam("viewer_id")))


async def feed_filters(session: AsyncSession, viewer: Account) -> tuple[list[str], list[int]]:
    """(followed tags, ids of accounts whose works the viewer must not see) in one round trip."""
    tags, hidden = [], set()
    for kind, tag, account_id in await core_rows(session, _FEED_FILTERS, {"viewer_id": viewer.id}):
        if kind == "tag":
            tags.append(tag)
        else:
            hidden.add(account_id)
    return tags, sorted(hidden)


def _blocks_between(a: Any, b: Any) -> Any:
    """The blocks between accounts `a` and `b` (ids or bind parameters), either way."""
    return select(Block.id).where(or_(and_(Block.account_id == a, Block.target_id == b),
                                      and_(Block.account_id == b, Block.target_id == a)))


def blocked_either_way_exists(a: Any, b: Any) -> Any:
    """EXISTS a block between `a` and `b`, either way: a column for a statement of subqueries."""
    return _blocks_between(a, b).exists()


# Built once (the two ids bound at execution): a signed-in visitor's rendered artwork page asks it (a kept one reads
# the EXISTS form in its marks statement: queries_social).
_BLOCKED_EITHER_WAY = _blocks_between(bindparam("a_id"), bindparam("b_id")).limit(1)


async def blocked_either_way(session: AsyncSession, a_id: int, b_id: int) -> bool:
    return await session.scalar(_BLOCKED_EITHER_WAY, {"a_id": a_id, "b_id": b_id}) is not None


async def safety_relation(session: AsyncSession, viewer: Account | None, target: Account) -> dict[str, bool]:
    """Whether the viewer blocked / muted the target, and whether the target blocked the viewer."""
    return (await follow_and_safety(session, viewer, target))[1]


class Identified(Protocol):
    """An account as far as a follow lookup needs it (an Account, or a cached page's record of one)."""
    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class FollowState:
    state: str  # a Follow's state: requested, accepted (what a profile's follow button needs)


_VIEWER, _TARGET = bindparam("viewer_id"), bindparam("target_id")
# Built once (the two ids bound at execution): every signed-in view of someone else's portfolio runs it.
_FOLLOW_AND_SAFETY = select(
    select(Follow.state).where(Follow.follower_id == _VIEWER, Follow.followee_id == _TARGET).limit(1).scalar_subquery(),
    select(Block.id).where(Block.account_id == _VIEWER, Block.target_id == _TARGET).exists(),
    select(Mute.id).where(Mute.account_id == _VIEWER, Mute.target_id == _TARGET).exists(),
    select(Block.id).where(Block.account_id == _TARGET, Block.target_id == _VIEWER).exists())


async def follow_and_safety(session: AsyncSession, viewer: Account | None,
                            target: Identified) -> tuple[FollowState | None, dict[str, bool]]:
    """The viewer's follow of the target (if any) and safety_relation, in one statement of scalar subqueries
    (the portfolio pays it on every signed-in view of someone else's profile)."""
    if viewer is None or viewer.id == target.id:
        return None, {"blocked": False, "muted": False, "blocked_by": False}
    state, blocked, muted, blocked_by = (await session.execute(
        _FOLLOW_AND_SAFETY, {"viewer_id": viewer.id, "target_id": target.id})).one()
    return (FollowState(state) if state is not None else None,
            {"blocked": bool(blocked), "muted": bool(muted), "blocked_by": bool(blocked_by)})
