"""Read-side queries the federation edge needs beyond cara_fed.queries (actors, outbox counts, NodeInfo)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries
from cara_fed.models import Account, Artwork, LoginSession, Project, ProjectItem

PUBLICLY_VISIBLE = ("public", "unlisted")


async def active_local_actor(session: AsyncSession, username: str) -> Account | None:
    """A local artist or studio that may be shown to other servers (not pending, not suspended)."""
    return await session.scalar(select(Account).where(
        Account.username == username.lower(), Account.domain.is_(None), Account.status == "active",
        Account.kind != "application"))


async def grace_period_local_actor(session: AsyncSession, username: str) -> Account | None:
    """A local account in its deletion grace period (self-service or admin suspension), not yet a tombstone: its
    actor is served with `suspended: true`, as Mastodon serves a suspended account that may come back."""
    return await session.scalar(select(Account).where(
        Account.username == username.lower(), Account.domain.is_(None), Account.deletion_due_at.is_not(None),
        Account.deleted_at.is_(None), Account.kind != "application"))


async def tombstoned_local_actor(session: AsyncSession, username: str) -> bool:
    """A local account whose deletion is done (the row stays as a tombstone): 410 everywhere, WebFinger too."""
    return await session.scalar(select(Account.id).where(
        Account.username == username.lower(), Account.domain.is_(None), Account.deleted_at.is_not(None))) \
        is not None


async def first_projects(session: AsyncSession, artwork_ids: list[int]) -> dict[int, int]:
    """artwork id -> id of the first project (in portfolio order) that holds it."""
    if not artwork_ids:
        return {}
    rows = (await session.execute(
        select(ProjectItem.artwork_id, Project.id).join(Project, Project.id == ProjectItem.project_id)
        .where(ProjectItem.artwork_id.in_(artwork_ids)).order_by(Project.position.desc(), Project.id.desc()))).all()
    return {artwork_id: project_id for artwork_id, project_id in rows}  # later rows win: the first project


async def visible_project_works(session: AsyncSession, project: Project) -> list[Artwork]:
    """A project's works in order, only those anyone may see."""
    works = await queries.artworks_by_ids(session, [item.artwork_id for item in project.items])
    return [works[item.artwork_id] for item in project.items
            if item.artwork_id in works and queries.can_view(works[item.artwork_id], None)]


async def _active_since(session: AsyncSession, since: datetime) -> int:
    # "Active" = signed in or published in the window. Sessions are deleted on logout and expiry, so this
    # undercounts people who stay signed out and never post; no per-login history is kept.
    # One IN over a UNION: written as "IN posted OR IN signed in", PostgreSQL rescanned the works for every
    # account (planned cost 3.3 billion at 300k accounts and a million works: the request never finished);
    # this way it is one hash of the active ids (1.3 s at that size, kept per process by cara_fed/recount.py).
    posted = select(Artwork.account_id).where(Artwork.published_at >= since)
    signed_in = select(LoginSession.account_id).where(LoginSession.created_at >= since)
    return await session.scalar(select(func.count()).select_from(Account).where(
        Account.domain.is_(None), Account.status == "active", Account.kind != "application",
        Account.id.in_(union(posted, signed_in)))) or 0


async def active_users(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Local users active in the last month and half year (nodeinfo's activeMonth, activeHalfyear)."""
    return (await _active_since(session, now - timedelta(days=30)),
            await _active_since(session, now - timedelta(days=180)))
