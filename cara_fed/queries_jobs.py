"""Read side of the job board: the filtered, searched, sorted board; a studio's jobs; applications;
notifications. Writers live in services/jobs.py, services/job_applications.py, services/notifications.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from cara_fed.db import utcnow
from cara_fed.db_rows import core_rows
from cara_fed.models import Account, Instance, JobApplication, JobPost, Notification
from cara_fed.models.jobs import EMPLOYMENT_TYPES, WORKPLACES

BOARD_PAGE = 20
SORTS = ("newest", "deadline")
ORIGINS = ("all", "local", "remote")
SINCE_DAYS = {"1": 1, "7": 7, "30": 30}


@dataclass
class BoardFilters:
    q: str = ""
    field: str = ""
    employment_type: str = ""
    workplace: str = ""  # onsite | hybrid | remote
    location: str = ""
    min_pay: int | None = None
    since: str = ""  # "1" | "7" | "30" days
    origin: str = "all"
    include_closed: bool = False
    sort: str = "newest"
    page: int = 1

    def problems(self) -> dict[str, str]:
        """Unknown filter values get a plain message (the board shows it instead of guessing)."""
        found = {}
        if self.employment_type and self.employment_type not in EMPLOYMENT_TYPES:
            found["employment_type"] = f"Unknown employment type; choose one of: {', '.join(EMPLOYMENT_TYPES)}."
        if self.workplace and self.workplace not in WORKPLACES:
            found["workplace"] = f"Unknown workplace; choose one of: {', '.join(WORKPLACES)}."
        if self.sort not in SORTS:
            found["sort"] = "Sort by newest or deadline."
        if self.origin not in ORIGINS:
            found["origin"] = "Choose all, local or remote jobs."
        if self.since and self.since not in SINCE_DAYS:
            found["since"] = "Posted since: 1, 7 or 30 days."
        return found


@dataclass(frozen=True)
class Board:
    items: list[JobPost]
    total: int
    page: int
    pages: int


def open_clause(now: Any = None) -> Any:
    """Open posts whose deadline (if any) is after `now` (a bind parameter in a select built once; default: now)."""
    now = utcnow() if now is None else now
    return (JobPost.status == "open") & (JobPost.deadline.is_(None) | (JobPost.deadline > now))


def _visible() -> Select:
    """Jobs of active accounts, minus remote ones from servers the admin silenced or suspended."""
    muted = select(Instance.domain).where(Instance.policy.in_(("silence", "suspend")))
    return (select(JobPost).join(Account, Account.id == JobPost.account_id)
            .where(Account.status == "active", Account.domain.is_(None) | Account.domain.not_in(muted)))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def board_query(filters: BoardFilters) -> Select:
    query = _visible()
    if not filters.include_closed:
        query = query.where(open_clause())
    for word in filters.q.lower().split()[:8]:  # every word must appear somewhere in the post
        query = query.where(JobPost.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    if filters.field:
        query = query.where(JobPost.field == filters.field)
    if filters.employment_type:
        query = query.where(JobPost.employment_type == filters.employment_type)
    if filters.workplace:
        query = query.where(JobPost.workplace == filters.workplace)
    if filters.location.strip():
        needle = f"%{_escape_like(filters.location.strip().lower())}%"
        query = query.where(func.lower(JobPost.location).like(needle, escape="\\"))
    if filters.min_pay is not None:
        query = query.where(func.coalesce(JobPost.pay_max, JobPost.pay_min) >= filters.min_pay)
    if filters.since in SINCE_DAYS:
        query = query.where(JobPost.published_at >= utcnow() - timedelta(days=SINCE_DAYS[filters.since]))
    if filters.origin == "local":
        query = query.where(JobPost.uri.is_(None))
    elif filters.origin == "remote":
        query = query.where(JobPost.uri.is_not(None))
    return query


async def board(session: AsyncSession, filters: BoardFilters, per_page: int = BOARD_PAGE) -> Board:
    query = board_query(filters)
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, filters.page), pages)
    if filters.sort == "deadline":  # soonest first; posts without a deadline last
        order = [JobPost.deadline.is_(None), JobPost.deadline.asc(), JobPost.id.desc()]
    else:
        order = [JobPost.published_at.desc(), JobPost.id.desc()]
    rows = await session.scalars(query.order_by(*order).offset((page - 1) * per_page).limit(per_page))
    return Board(list(rows.unique().all()), total, page, pages)


def _studio_jobs_select(include_closed: bool) -> Select:
    query = select(JobPost).where(JobPost.account_id == bindparam("account_id"))
    if not include_closed:
        query = query.where(open_clause(bindparam("now")))
    return query.order_by(JobPost.published_at.desc(), JobPost.id.desc()).limit(bindparam("limit"))


# Built once (account, time and limit bound at execution): every portfolio page lists the studio's open jobs.
_STUDIO_JOBS = {closed: _studio_jobs_select(closed) for closed in (False, True)}


async def studio_jobs(session: AsyncSession, account: Account, *, include_closed: bool = False,
                      limit: int = 50) -> list[JobPost]:
    params: dict[str, Any] = {"account_id": account.id, "limit": limit}
    if not include_closed:
        params["now"] = utcnow()
    rows = await session.scalars(_STUDIO_JOBS[include_closed], params)
    return list(rows.unique().all())


# The portfolio's open jobs read four columns: plain rows (JobPost entities, with their joined author and selectin
# images, cost ~0.5 ms per page even when there are none). Built once: account, time and limit bound.
_OPEN_JOB_LINES = (select(JobPost.id, JobPost.title, JobPost.location, JobPost.deadline)
                   .where(JobPost.account_id == bindparam("account_id"), open_clause(bindparam("now")))
                   .order_by(JobPost.published_at.desc(), JobPost.id.desc()).limit(bindparam("limit")))


async def open_job_lines(session: AsyncSession, account_id: int, limit: int) -> list[Any]:
    """The studio's open posts, newest first, as rows with `id`, `title`, `location` and `deadline`."""
    return await core_rows(session, _OPEN_JOB_LINES, {"account_id": account_id, "now": utcnow(), "limit": limit})


async def job(session: AsyncSession, job_id: int) -> JobPost | None:
    found = await session.get(JobPost, job_id)
    if found is None or found.account.status == "suspended":
        return None
    return found


async def applications_for(session: AsyncSession, job_id: int) -> list[JobApplication]:
    rows = await session.scalars(select(JobApplication).where(JobApplication.job_id == job_id)
                                 .order_by(JobApplication.created_at.desc(), JobApplication.id.desc()))
    return list(rows.unique().all())


async def application_of(session: AsyncSession, job_id: int, applicant_id: int) -> JobApplication | None:
    return await session.scalar(select(JobApplication).where(JobApplication.job_id == job_id,
                                                             JobApplication.applicant_id == applicant_id))


async def application_counts(session: AsyncSession, job_ids: list[int]) -> dict[int, int]:
    if not job_ids:
        return {}
    rows = await session.execute(select(JobApplication.job_id, func.count()).where(JobApplication.job_id.in_(job_ids))
                                 .group_by(JobApplication.job_id))
    return {job_id: count for job_id, count in rows.all()}


# The page shows who, not their pictures: skip loading avatars and banners (and their derivatives).
NOTIFICATION_OPTIONS = (joinedload(Notification.actor).lazyload(Account.avatar_asset),
                        joinedload(Notification.actor).lazyload(Account.banner_asset))


async def notifications(session: AsyncSession, account: Account, limit: int = 50) -> list[Notification]:
    rows = await session.scalars(select(Notification).where(Notification.account_id == account.id)
                                 .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
                                 .options(*NOTIFICATION_OPTIONS))
    return list(rows.unique().all())


async def unread_count(session: AsyncSession, account: Account) -> int:
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == account.id, Notification.read_at.is_(None))) or 0
