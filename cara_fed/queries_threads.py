"""Read side of threads for other servers: one public comment by its id, and the direct replies to a work or
to a comment (keyset pages, oldest first, as Mastodon serves `replies`), so peers can backfill a thread."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries
from cara_fed.models import Account, Artwork, Comment


@dataclass(frozen=True)
class PublicComment:
    comment: Comment
    artwork: Artwork
    parent: Comment | None
    mentioned: list[Account]


async def public_comment(session: AsyncSession, uri: str) -> PublicComment | None:
    """A visible comment with this Note id on a work anyone may see, by an active author; else None."""
    comment = await session.scalar(select(Comment).where(Comment.uri == uri))
    if comment is None or comment.state != "visible" or comment.account.status != "active":
        return None
    artwork = await session.get(Artwork, comment.artwork_id)
    if artwork is None or not queries.can_view(artwork, None):
        return None
    parent = await session.get(Comment, comment.parent_id) if comment.parent_id else None
    mentioned = list((await session.scalars(select(Account).where(
        Account.uri.in_(comment.mentions or [""])))).unique().all())
    return PublicComment(comment, artwork, parent, mentioned)


def _direct(artwork_id: int, parent_id: int | None):  # type: ignore[no-untyped-def]
    parent = Comment.parent_id.is_(None) if parent_id is None else Comment.parent_id == parent_id
    return (Comment.artwork_id == artwork_id, parent, Comment.state == "visible", Comment.uri.is_not(None))


async def count_replies(session: AsyncSession, artwork_id: int, parent_id: int | None) -> int:
    return await session.scalar(select(func.count()).select_from(Comment).where(
        *_direct(artwork_id, parent_id))) or 0


async def replies(session: AsyncSession, artwork_id: int, parent_id: int | None, *, after: int | None = None,
                  limit: int = 20) -> tuple[list[Comment], int | None]:
    """Direct replies oldest first, after comment id `after`; returns (comments, cursor of the next page)."""
    query = select(Comment).where(*_direct(artwork_id, parent_id))
    if after is not None:
        query = query.where(Comment.id > after)
    rows = list((await session.scalars(query.order_by(Comment.id).limit(limit + 1))).unique().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
