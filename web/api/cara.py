"""Our extensions under /api/cara/v1/ (same tokens and scopes as the Mastodon API): the job board (list and
search, post, apply), portfolio projects, and an artwork's protection report (what the pipeline did and what
AI-provenance detection found), documented with examples in docs/api.md. Their JSON is ours, built here; the
Mastodon entities they embed come from entities*.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cara_fed import queries, queries_jobs, urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, Artwork, JobPost, Project
from cara_fed.numbers import INT4_MAX, parse_id, parse_ids, parse_whole
from cara_fed.queries_jobs import BoardFilters
from cara_fed.services import job_applications, jobs, projects, review
from cara_fed.services.jobs import JobInput
from web.api import entities, entities_accounts
from web.api.base import ApiError, Params, endpoint, int_id, me, not_found, params, reply, viewer
from web.api.views import view_for

routes = web.RouteTableDef()
BASE = "/api/cara/v1"


def _job_json(view: entities.View, job: JobPost, account_json: dict) -> dict[str, Any]:
    return {"id": str(job.id), "url": job.url or view.url(urls.job(job.id)), "uri": job.uri, "title": job.title,
            "description": job.description_html, "field": job.field or None, "role": job.role or None,
            "employment_type": job.employment_type, "workplace": job.workplace, "location": job.location or None,
            "pay": {"min": job.pay_min, "max": job.pay_max, "currency": job.currency or None,
                    "period": job.pay_period or None} if job.pay_min or job.pay_max else None,
            "skills": list(job.skills or []), "deadline": entities.iso(job.deadline), "status": job.state_label.lower(),
            "apply": {"method": job.apply_method, "url": job.apply_url or None, "email": job.apply_email or None},
            "published_at": entities.iso(job.published_at), "account": account_json}


async def _jobs_json(request: web.Request, session, items: list[JobPost]) -> list[dict]:  # type: ignore[no-untyped-def]
    view = await view_for(request, session, accounts=[job.account for job in items])
    return [_job_json(view, job, entities_accounts.account(view, job.account)) for job in items]


@routes.get(f"{BASE}/jobs")
@endpoint("read:statuses", user=False, public=True)
async def job_board(request: web.Request) -> web.Response:
    query = request.query
    page = query.get("page", "1")
    min_pay = query.get("min_pay", "")
    filters = BoardFilters(q=query.get("q", "")[:200], field=query.get("field", ""),
                           employment_type=query.get("employment_type", ""), workplace=query.get("workplace", ""),
                           location=query.get("location", "")[:100], since=query.get("since", ""),
                           min_pay=parse_whole(min_pay, most=INT4_MAX),
                           origin=query.get("origin", "all"), include_closed=query.get("include_closed") == "true",
                           sort=query.get("sort", "newest"), page=parse_whole(page, least=1, most=99_999) or 1)
    problems = filters.problems()
    if problems:
        raise ApiError(422, "Validation failed: " + "; ".join(problems.values()))
    async with request.app[CONTEXT_KEY].sessions() as session:
        board = await queries_jobs.board(session, filters)
        items = await _jobs_json(request, session, board.items)
    return reply({"jobs": items, "total": board.total, "page": board.page, "pages": board.pages})


@routes.get(rf"{BASE}/jobs/{{job_id:\d+}}")
@endpoint("read:statuses", user=False, public=True)
async def job(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_jobs.job(session, int_id(request.match_info["job_id"]))
        if found is None:
            raise not_found()
        return reply((await _jobs_json(request, session, [found]))[0])


def job_input(p: Params) -> JobInput:
    skills = p.list("skills")
    if len(skills) == 1 and isinstance(skills[0], str):
        skills = skills[0].split(",")
    return JobInput(title=p.text("title"), description=p.text("description"), field=p.text("field"),
                    role=p.text("role"), employment_type=p.text("employment_type", "full-time"),
                    location=p.text("location"), workplace=p.text("workplace", "onsite"),
                    pay_min=p.text("pay_min"), pay_max=p.text("pay_max"), currency=p.text("currency"),
                    pay_period=p.text("pay_period"), skills=[str(s) for s in skills], deadline=p.text("deadline"),
                    apply_method=p.text("apply_method", "inapp"), apply_url=p.text("apply_url"),
                    apply_email=p.text("apply_email"))


@routes.post(f"{BASE}/jobs")
@endpoint("write:statuses")
async def post_job(request: web.Request) -> web.Response:
    account = await me(request)
    created = await jobs.create_job(request.app[CONTEXT_KEY], account, job_input(await params(request)))
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_jobs.job(session, created.id)
        assert found is not None
        return reply((await _jobs_json(request, session, [found]))[0])


@routes.post(rf"{BASE}/jobs/{{job_id:\d+}}/apply")
@endpoint("write:statuses")
async def apply(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    work_ids = []
    for raw in p.list("work_ids"):
        number = parse_id(raw)
        if number is None:
            raise ApiError(422, "Validation failed: work_ids must be ids of your published works")
        work_ids.append(number)
    application = await job_applications.apply(request.app[CONTEXT_KEY], account, int_id(request.match_info["job_id"]),
                                               p.text("message"), work_ids)
    return reply({"id": str(application.id), "job_id": str(application.job_id), "status": application.status,
                  "message": application.message, "works": application.works,
                  "created_at": entities.iso(application.created_at)})


# --- projects ------------------------------------------------------------------------------------


def _project_json(view: entities.View, project: Project, username: str) -> dict[str, Any]:
    return {"id": str(project.id), "title": project.title, "description": project.description_html,
            "url": view.url(urls.project(username, project.id)),
            "cover_id": str(project.cover_artwork_id) if project.cover_artwork_id else None,
            "status_ids": [str(item.artwork_id) for item in project.items]}


@routes.get(rf"{BASE}/accounts/{{account_id:\d+}}/projects")
@endpoint("read:statuses", user=False, public=True)
async def account_projects(request: web.Request) -> web.Response:
    who = await viewer(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await session.get(Account, int_id(request.match_info["account_id"]))
        if account is None or not account.is_local or account.status != "active":
            raise not_found()
        found = await queries.projects(session, account)
        works = await queries.artworks_by_ids(session, [i.artwork_id for p in found for i in p.items])
    view = entities.View.of(request.app[CONTEXT_KEY].config)
    out = []
    for project in found:
        data = _project_json(view, project, account.username)
        data["status_ids"] = [i for i in data["status_ids"] if int(i) in works
                              and queries.can_view(works[int(i)], who)]
        out.append(data)
    return reply(out)


@routes.post(f"{BASE}/projects")
@endpoint("write:statuses")
async def save_project(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    ids = parse_ids(p.list("status_ids"))
    cover = p.text("cover_id")
    project = await projects.save_project(request.app[CONTEXT_KEY], account, p.text("title"), p.text("description"),
                                          ids,
                                          parse_id(cover))
    async with request.app[CONTEXT_KEY].sessions() as session:
        project = await session.get(Project, project.id)
    return reply(_project_json(entities.View.of(request.app[CONTEXT_KEY].config), project, account.username))


# --- protection report ---------------------------------------------------------------------------


@routes.get(rf"{BASE}/statuses/{{status_id:\d+}}/protection")
@endpoint("read:statuses")
async def protection(request: web.Request) -> web.Response:
    """The artist's own report for one work: each image's processing state and pipeline report, the combined
    AI-provenance verdict with its evidence, the label and any review case. Others get 404."""
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        work = await session.get(Artwork, int_id(request.match_info["status_id"]))
        if work is None or work.account_id != account.id:
            raise not_found()
        case = await review.case_for(session, work.id)
        decision = review.last_decision(case)
    verdict = review.artwork_verdict(work)
    return reply({
        "id": str(work.id), "state": work.state, "noai": work.noai, "ai_label": work.ai_label,
        "ai_label_by": work.ai_label_by, "detection_ran": review.detection_ran(work),
        "verdict": verdict.to_json(),
        "review": None if case is None else {"state": case.state, "reason": case.reason, "decision": decision,
                                             "opened_at": entities.iso(case.opened_at),
                                             "decided_at": entities.iso(case.decided_at)},
        "media": [{"id": str(image.asset_id), "state": image.asset.state, "error": image.asset.error_message,
                   "report": image.asset.report or {}} for image in work.images],
    })

