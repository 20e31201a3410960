"""The poster's tools for the job board: post, edit, close, reopen, delete; the applications inbox; applying.
(Notifications moved to web/notifications.py.)"""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from cara_fed import queries_jobs, urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import JobPost
from cara_fed.services import job_applications, jobs
from cara_fed.services.jobs import JobInput
from web import forms
from web.auth import require_login
from web.jobs import LABELS, job_path
from web.limits import accepts_uploads
from web.render import render

routes = web.RouteTableDef()


def job_input(form: MultiDictProxy) -> JobInput:
    text = forms.text
    return JobInput(
        title=text(form, "title"), description=text(form, "description"), field=text(form, "field"),
        role=text(form, "role"), employment_type=text(form, "employment_type"), location=text(form, "location"),
        workplace=text(form, "workplace", "onsite"), pay_min=text(form, "pay_min"), pay_max=text(form, "pay_max"),
        currency=text(form, "currency"), pay_period=text(form, "pay_period"),
        skills=[s for s in text(form, "skills").split(",") if s.strip()], deadline=text(form, "deadline"),
        apply_method=text(form, "apply_method", "inapp"), apply_url=text(form, "apply_url"),
        apply_email=text(form, "apply_email"))


def _form(request: web.Request, job: JobPost | None = None, form: dict | None = None,
          errors: dict | None = None, status: int = 200) -> web.Response:
    if form is None and job is not None:  # editing: start from the stored post
        form = {k: getattr(job, k) for k in ("title", "description", "field", "role", "employment_type", "location",
                                             "workplace", "currency", "pay_period", "apply_method", "apply_url",
                                             "apply_email")}
        form.update(pay_min="" if job.pay_min is None else str(job.pay_min),
                    pay_max="" if job.pay_max is None else str(job.pay_max), skills=", ".join(job.skills or []),
                    deadline=job.deadline.date().isoformat() if job.deadline else "")
    return render(request, "job_form.html", {"job": job, "form": form or {}, "errors": errors or {}, **LABELS},
                  status=status)


async def _own(request: web.Request, account) -> JobPost:  # type: ignore[no-untyped-def]
    async with request.app[CONTEXT_KEY].sessions() as session:
        job = await session.get(JobPost, forms.path_id(request, "job_id"))
    if job is None or job.account_id != account.id or not job.is_local:
        raise web.HTTPNotFound(text="This job post does not exist or is not yours.")
    return job


@routes.get("/jobs/new", name="new_job")
async def new_job_form(request: web.Request) -> web.Response:
    require_login(request)
    return _form(request)


@routes.post("/jobs/new")
@accepts_uploads
async def new_job(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        job = await jobs.create_job(request.app[CONTEXT_KEY], account, job_input(form), forms.uploads(form))
    except ValidationError as exc:
        return _form(request, form={k: v for k, v in form.items() if isinstance(v, str)}, errors=exc.errors,
                     status=400)
    raise web.HTTPSeeOther(job_path(job))


@routes.get(r"/jobs/{job_id:\d{1,9}}/edit", name="edit_job")
async def edit_job_form(request: web.Request) -> web.Response:
    account = require_login(request)
    return _form(request, await _own(request, account))


@routes.post(r"/jobs/{job_id:\d{1,9}}/edit")
async def edit_job(request: web.Request) -> web.Response:
    account = require_login(request)
    job = await _own(request, account)
    form = await request.post()
    try:
        await jobs.update_job(request.app[CONTEXT_KEY], account, job.id, job_input(form))
    except ValidationError as exc:
        return _form(request, job, form={k: v for k, v in form.items() if isinstance(v, str)}, errors=exc.errors,
                     status=400)
    raise web.HTTPSeeOther(job_path(job))


@routes.post(r"/jobs/{job_id:\d{1,9}}/{action:close|reopen}", name="close_job")
async def close_or_reopen(request: web.Request) -> web.Response:
    account = require_login(request)
    job = await _own(request, account)
    await jobs.set_open(request.app[CONTEXT_KEY], account, job.id, request.match_info["action"] == "reopen")
    raise web.HTTPSeeOther(job_path(job))


@routes.post(r"/jobs/{job_id:\d{1,9}}/delete", name="delete_job")
async def delete(request: web.Request) -> web.Response:
    account = require_login(request)
    job = await _own(request, account)
    await jobs.delete_job(request.app[CONTEXT_KEY], account, job.id)
    raise web.HTTPSeeOther(urls.profile(account.username))


# --- applications ---------------------------------------------------------------------------------


@routes.post(r"/jobs/{job_id:\d{1,9}}/apply", name="apply_job")
async def apply(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    works = forms.int_values(form.getall("works", []))
    job_id = forms.path_id(request, "job_id")
    try:
        await job_applications.apply(request.app[CONTEXT_KEY], account, job_id, forms.text(form, "message"), works)
    except ValidationError as exc:
        async with request.app[CONTEXT_KEY].sessions() as session:
            job = await queries_jobs.job(session, job_id)
        if job is None:
            raise web.HTTPNotFound(text="This job post does not exist.") from None
        return render(request, "job.html", {"job": job, "is_owner": False, "json_ld": "", "application": None,
                                            "count": 0, "works": [], "errors": exc.errors,
                                            "form": {"message": forms.text(form, "message")}, **LABELS}, status=400)
    raise web.HTTPSeeOther(urls.job(job_id) + "#apply")


@routes.get(r"/jobs/{job_id:\d{1,9}}/applications", name="job_applications")
async def applications(request: web.Request) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        job = await queries_jobs.job(session, forms.path_id(request, "job_id"))
        if job is None:
            raise web.HTTPNotFound(text="This job post does not exist.")
        if job.account_id != account.id:
            raise web.HTTPForbidden(text="Only the studio that posted this job can see its applications.")
        rows = await queries_jobs.applications_for(session, job.id)
    return render(request, "job_applications.html", {"job": job, "applications": rows, **LABELS})


@routes.post(r"/applications/{application_id:\d{1,9}}/status", name="application_status")
async def application_status(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    application = await job_applications.set_status(request.app[CONTEXT_KEY], account,
                                                    forms.path_id(request, "application_id"),
                                                    forms.text(form, "status"))
    raise web.HTTPSeeOther(urls.job_applications(application.job_id))
