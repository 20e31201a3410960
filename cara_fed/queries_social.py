"""Read side of the social layer: an artwork's counts, the viewer's own likes/boosts/bookmarks and the
comment thread; the notifications page (keyset, no N+1); the unread badge; saved works.
Writers live in services/interactions.py, services/comments.py and services/notifications.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from cara_fed import queries
from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Artwork, Bookmark, Boost, Comment, Follow, Like, Notification
from cara_fed.queries_accounts import LEAN
from cara_fed.queries_artwork import ShownWork
from cara_fed.queries_safety import blocked_either_way_exists
from cara_fed.services.comments import may_comment

THREAD_LIMIT = 500
NOTIFICATIONS_PAGE = 40
UNREAD_CAP = 100  # the badge says "99+" past this; counting further is wasted work


@dataclass
class ArtworkSocial:
    likes: int = 0
    boosts: int = 0
    comments: int = 0
    liked: bool = False
    boosted: bool = False
    bookmarked: bool = False
    thread: list[tuple[Comment, int]] = field(default_factory=list)  # (comment, depth), in reading order
    can_comment: bool = False
    comment_block: str = ""  # why the viewer cannot comment (shown instead of the form)
    blocked: bool = False  # the viewer and the artist block each other, either way (a kept page's 404)


def thread_order(comments: list[Comment]) -> list[tuple[Comment, int]]:
    """Oldest first, each reply under its parent (depth-first); orphans of a removed parent go to the top."""
    ids = {c.id for c in comments}
    children: dict[int | None, list[Comment]] = {}
    for comment in comments:
        parent = comment.parent_id if comment.parent_id in ids else None
        children.setdefault(parent, []).append(comment)
    ordered: list[tuple[Comment, int]] = []
    stack = [(c, 0) for c in reversed(children.get(None, []))]
    while stack:
        comment, depth = stack.pop()
        ordered.append((comment, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(comment.id, [])))
    return ordered


def _count_of(model: type) -> Any:
    return select(func.count()).select_from(model).where(model.artwork_id == bindparam("artwork_id")).scalar_subquery()


def _has_of(model: type) -> Any:
    return select(model.id).where(model.artwork_id == bindparam("artwork_id"),
                                  model.account_id == bindparam("viewer_id")).exists()


# Built once, the ids bound at execution: building these selects cost more CPU per artwork page than running them.
# The counts and the viewer's own like, boost, bookmark and follow ride in one statement of scalar subqueries (one
# round trip instead of up to six). The last column says whether the work has any visible comment: most have none,
# and their page then skips the thread's statement.
_HAS_COMMENTS = select(Comment.id).where(Comment.artwork_id == bindparam("artwork_id"),
                                         Comment.state == "visible").exists()
_COUNTS = select(_count_of(Like), _count_of(Boost), _HAS_COMMENTS)
_COUNTS_AND_OWN = select(_count_of(Like), _count_of(Boost), _has_of(Like), _has_of(Boost), _has_of(Bookmark),
                         select(Follow.id).where(Follow.follower_id == bindparam("viewer_id"),
                                                 Follow.followee_id == bindparam("author_id"),
                                                 Follow.state == "accepted").exists(),
                         blocked_either_way_exists(bindparam("viewer_id"), bindparam("author_id")), _HAS_COMMENTS)
# The thread shows its commenters' names only: their avatars, banners and moves stay unread (the ORM's eager
# loaders for them cost ~0.4 ms per page even with no comments; cara_fed/queries_accounts.py).
_THREAD = (select(Comment).where(Comment.artwork_id == bindparam("artwork_id"), Comment.state == "visible")
           .options(*(joinedload(Comment.account).options(option) for option in LEAN))
           .order_by(Comment.id).limit(THREAD_LIMIT))


async def artwork_social(session: AsyncSession, artwork: Artwork | ShownWork, viewer: Account | None) -> ArtworkSocial:
    if viewer is None:
        [found] = await core_rows(session, _COUNTS, {"artwork_id": artwork.id})
    else:
        [found] = await core_rows(session, _COUNTS_AND_OWN, {"artwork_id": artwork.id, "viewer_id": viewer.id,
                                                             "author_id": artwork.account_id})
    view = ArtworkSocial(likes=found[0] or 0, boosts=found[1] or 0)
    visible = list((await session.scalars(_THREAD, {"artwork_id": artwork.id})).unique().all()) if found[-1] else []
    view.comments = len(visible)
    view.thread = thread_order(visible)
    if viewer is None:
        view.comment_block = "Log in to comment."
        return view
    view.liked, view.boosted, view.bookmarked = bool(found[2]), bool(found[3]), bool(found[4])
    view.blocked = bool(found[6])
    reason = may_comment(artwork, viewer, bool(found[5]))
    view.can_comment, view.comment_block = reason is None, reason or ""
    return view


@dataclass(frozen=True)
class CommentGist:
    """What a notification shows of a comment: where it is and its text."""

    id: int
    artwork_id: int
    content_html: str


@dataclass
class NotificationsPage:
    items: list[Notification]
    next_cursor: int | None
    titles: dict[int, str]  # artwork id -> title, for what each notification is about
    comments: dict[int, CommentGist]


async def notifications(session: AsyncSession, account: Account, before: int | None = None,
                        limit: int = NOTIFICATIONS_PAGE) -> NotificationsPage:
    """Newest first, keyset on id over ix_notifications_account_id; the actors come joined, and the comments
    and artwork titles in one narrow IN query each (no per-row queries, no image rows)."""
    query = select(Notification).where(Notification.account_id == account.id)
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list((await session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1))).unique().all())
    more = len(rows) > limit
    rows = rows[:limit]
    comment_ids = [n.object_id for n in rows if n.object_type == "comment" and n.object_id is not None]
    comments: dict[int, CommentGist] = {}
    if comment_ids:
        found = await session.execute(select(Comment.id, Comment.artwork_id, Comment.content_html).where(
            Comment.id.in_(comment_ids), Comment.state == "visible"))
        comments = {row.id: CommentGist(row.id, row.artwork_id, row.content_html) for row in found}
    artwork_ids = {n.object_id for n in rows if n.object_type == "artwork" and n.object_id is not None}
    artwork_ids |= {c.artwork_id for c in comments.values()}
    titles: dict[int, str] = {}
    if artwork_ids:
        found = await session.execute(select(Artwork.id, Artwork.title).where(Artwork.id.in_(artwork_ids)))
        titles = {row.id: row.title for row in found}
    return NotificationsPage(rows, rows[-1].id if more and rows else None, titles, comments)


async def unread_count(session: AsyncSession, account_id: int) -> int:
    """Unread notifications, counted up to UNREAD_CAP (an index range scan of at most that many rows)."""
    return await session.scalar(select(unread_subquery(account_id))) or 0


def unread_subquery(account_id: Any) -> Any:
    """unread_count as a scalar subquery, for a statement that reads something else too (the login session)."""
    capped = (select(Notification.id).where(Notification.account_id == account_id, Notification.read_at.is_(None))
              .limit(UNREAD_CAP).subquery())
    return select(func.count()).select_from(capped).scalar_subquery()


async def bookmarks(session: AsyncSession, account: Account, before: int | None = None,
                    limit: int = queries.PAGE_SIZE) -> queries.Page:
    """The account's saved works that they can still see, most recently saved first (keyset on Bookmark.id)."""
    query = (select(Bookmark.id, Artwork).join(Artwork, Artwork.id == Bookmark.artwork_id)
             .where(Bookmark.account_id == account.id, Artwork.state == "published"))
    if before is not None:
        query = query.where(Bookmark.id < before)
    rows = (await session.execute(query.order_by(Bookmark.id.desc()).limit(limit + 1))).unique().all()
    more = len(rows) > limit
    rows = rows[:limit]
    works = [work for _, work in rows if await queries.can_view_async(session, work, account)]
    return queries.Page(works, rows[-1][0] if more and rows else None)
