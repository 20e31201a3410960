"""Read side of threads for other servers: one public comment by its id, the direct replies to a work or
to a comment (keyset pages, oldest first, as Mastodon serves `replies`), and an actor's outbox mixing works
and comments newest first, so peers can backfill threads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
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
    found = await with_context(session, [comment])
    return found[0] if found else None


async def with_context(session: AsyncSession, comments: list[Comment]) -> list[PublicComment]:
    """What a comment's Note needs (its work, parent, mentioned actors), in three queries for any number;
    comments on works not everyone may see are left out."""
    works = await queries.artworks_by_ids(session, list({c.artwork_id for c in comments}))
    parent_ids = list({c.parent_id for c in comments if c.parent_id})
    parents = {c.id: c for c in (await session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))).unique()} \
        if parent_ids else {}
    uris = list({uri for c in comments for uri in c.mentions or []})
    accounts = {a.uri: a for a in (await session.scalars(select(Account).where(Account.uri.in_(uris)))).unique()} \
        if uris else {}
    return [PublicComment(c, works[c.artwork_id], parents.get(c.parent_id or 0),
                          [accounts[u] for u in c.mentions or [] if u in accounts])
            for c in comments if c.artwork_id in works and queries.can_view(works[c.artwork_id], None)]


def _direct(artwork_id: int, parent_id: int | None):  # type: ignore[no-untyped-def]
    """Visible direct replies by authors who are not suspended (their comments are not served either)."""
    parent = Comment.parent_id.is_(None) if parent_id is None else Comment.parent_id == parent_id
    active = select(Account.id).where(Account.id == Comment.account_id, Account.status == "active").exists()
    return (Comment.artwork_id == artwork_id, parent, Comment.state == "visible", Comment.uri.is_not(None), active)


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


# --- the outbox: works and comments, newest first -----------------------------------------------------

PUBLICLY_VISIBLE = ("public", "unlisted")
_WORK, _COMMENT = 1, 0  # tie-break at the same instant: the work first


@dataclass(frozen=True)
class OutboxPage:
    works: list[Artwork]
    comments: list[PublicComment]
    order: list[tuple[str, int]]  # ("a" | "c", id) newest first
    next_cursor: str | None  # "a{id}" or "c{id}": the last item of this page


def _work_time() -> Any:
    return func.coalesce(Artwork.published_at, Artwork.created_at)


def _public_works(account: Account) -> Any:
    return select(Artwork).where(Artwork.account_id == account.id, Artwork.state == "published",
                                 Artwork.visibility.in_(PUBLICLY_VISIBLE))


def _public_comments(account: Account) -> Any:
    """The account's visible comments on works anyone may see (the only ones a stranger may fetch)."""
    author = Account.__table__.alias("work_author")
    return (select(Comment).join(Artwork, Artwork.id == Comment.artwork_id)
            .join(author, author.c.id == Artwork.account_id)
            .where(Comment.account_id == account.id, Comment.state == "visible", Comment.uri.is_not(None),
                   Artwork.state == "published", Artwork.visibility.in_(PUBLICLY_VISIBLE),
                   author.c.status == "active"))


async def count_outbox(session: AsyncSession, account: Account) -> int:
    works = await session.scalar(select(func.count()).select_from(_public_works(account).subquery())) or 0
    said = await session.scalar(select(func.count()).select_from(_public_comments(account).subquery())) or 0
    return works + said


async def _anchor(session: AsyncSession, account: Account, cursor: str | None) -> tuple[datetime, int, int] | None:
    """(time, kind, id) of the item a cursor names, if it is this account's."""
    if not cursor or cursor[:1] not in ("a", "c") or not cursor[1:].isdigit() or len(cursor) > 11:
        return None
    number = int(cursor[1:])
    if cursor[0] == "a":
        work = await session.get(Artwork, number)
        if work is not None and work.account_id == account.id:
            return (work.published_at or work.created_at, _WORK, work.id)
        return None
    comment = await session.get(Comment, number)
    return (comment.created_at, _COMMENT, comment.id) if comment and comment.account_id == account.id else None


async def outbox(session: AsyncSession, account: Account, cursor: str | None, limit: int = 20) -> OutboxPage:
    """One page of the outbox after `cursor`, ordered by (time, kind, id) descending across both tables."""
    anchor = await _anchor(session, account, cursor)
    works_q, comments_q = _public_works(account), _public_comments(account)
    if anchor is not None:
        at, kind, number = anchor
        same_work = and_(_work_time() == at, Artwork.id < number) if kind == _WORK else None
        works_q = works_q.where(or_(_work_time() < at, same_work) if same_work is not None else _work_time() < at)
        comments_q = comments_q.where(
            Comment.created_at <= at if kind == _WORK
            else or_(Comment.created_at < at, and_(Comment.created_at == at, Comment.id < number)))
    works = list((await session.scalars(works_q.order_by(_work_time().desc(), Artwork.id.desc())
                                        .limit(limit + 1))).unique().all())
    said = list((await session.scalars(comments_q.order_by(Comment.created_at.desc(), Comment.id.desc())
                                       .limit(limit + 1))).unique().all())
    keyed = [((w.published_at or w.created_at), _WORK, w.id, "a") for w in works]
    keyed += [(c.created_at, _COMMENT, c.id, "c") for c in said]
    keyed.sort(key=lambda k: (k[0], k[1], k[2]), reverse=True)
    page, more = keyed[:limit], len(keyed) > limit
    order = [(k[3], k[2]) for k in page]
    shown_works = {n for kind, n in order if kind == "a"}
    shown_comments = {n for kind, n in order if kind == "c"}
    contexts = await with_context(session, [c for c in said if c.id in shown_comments])
    last = page[-1] if page else None
    return OutboxPage([w for w in works if w.id in shown_works], contexts, order,
                      f"{last[3]}{last[2]}" if more and last else None)
