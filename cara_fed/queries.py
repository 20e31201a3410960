"""Read-side queries shared by the edges (pages, API, federation). Writers live in services/."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.models import Account, Artwork, ArtworkTag, Project

PAGE_SIZE = 24


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: int | None  # pass as `before` to get the next page (keyset: stable under inserts)


async def _page(session: AsyncSession, query: Select, before: int | None, limit: int) -> Page:
    if before is not None:
        query = query.where(Artwork.id < before)
    rows = list((await session.scalars(query.order_by(Artwork.id.desc()).limit(limit + 1))).unique().all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more and rows else None)


def _visible_public() -> Select:
    return select(Artwork).where(Artwork.state == "published", Artwork.visibility == "public")


async def latest_public(session: AsyncSession, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    query = _visible_public().join(Account).where(Account.status == "active", Account.domain.is_(None))
    return await _page(session, query, before, limit)


async def by_tag(session: AsyncSession, tag: str, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    query = _visible_public().join(ArtworkTag).where(ArtworkTag.tag == tag)
    return await _page(session, query, before, limit)


async def local_account(session: AsyncSession, username: str) -> Account | None:
    return await session.scalar(select(Account).where(Account.username == username.lower(),
                                                      Account.domain.is_(None)))


def can_view(artwork: Artwork, viewer: Account | None) -> bool:
    if viewer is not None and viewer.id == artwork.account_id:
        return True
    if artwork.state != "published" or artwork.account.status != "active":
        return False
    return artwork.visibility in ("public", "unlisted")  # followers-only: the follow graph decides (federation)


async def portfolio(session: AsyncSession, account: Account, viewer: Account | None, before: int | None = None,
                    limit: int = PAGE_SIZE) -> Page:
    """An artist's works: all of them for the owner (with processing state), else the visible ones."""
    query = select(Artwork).where(Artwork.account_id == account.id)
    if viewer is None or viewer.id != account.id:
        query = query.where(Artwork.state == "published", Artwork.visibility.in_(("public", "unlisted")))
    return await _page(session, query, before, limit)


async def pinned(session: AsyncSession, account: Account) -> list[Artwork]:
    return list((await session.scalars(select(Artwork).where(
        Artwork.account_id == account.id, Artwork.pinned_at.is_not(None), Artwork.state == "published",
        Artwork.visibility.in_(("public", "unlisted"))).order_by(Artwork.pinned_at.desc()))).all())


async def projects(session: AsyncSession, account: Account) -> list[Project]:
    return list((await session.scalars(select(Project).where(Project.account_id == account.id)
                                       .order_by(Project.position, Project.id))).all())


async def artworks_by_ids(session: AsyncSession, ids: list[int]) -> dict[int, Artwork]:
    if not ids:
        return {}
    rows = (await session.scalars(select(Artwork).where(Artwork.id.in_(ids)))).unique().all()
    return {a.id: a for a in rows}


async def count_local(session: AsyncSession) -> tuple[int, int]:
    users = await session.scalar(select(func.count()).select_from(Account).where(
        Account.domain.is_(None), Account.status == "active"))
    works = await session.scalar(select(func.count()).select_from(Artwork).join(Account).where(
        Account.domain.is_(None), Artwork.state == "published"))
    return users or 0, works or 0
