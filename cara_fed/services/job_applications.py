"""In-app job applications: an artist applies with a message and chosen works; the poster shortlists or
declines. An application to a job on another server leaves as a direct message (the federation edge's
`send_job_application` job); one from another server arrives through `receive_remote_application`. Status
changes travel back the same way (`send_application_status` / `receive_remote_status`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cara_fed import urls
from cara_fed.context import Context, Transaction
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import JobApplicationStatusChanged, JobApplicationSubmitted, emit
from cara_fed.models import Account, Artwork, JobApplication, JobPost
from cara_fed.models.jobs import APPLICATION_STATUSES
from cara_fed.numbers import parse_id
from cara_fed.services.notifications import notify

MAX_MESSAGE = 5000
MAX_WORKS = 12


@dataclass
class RemoteApplication:
    uri: str
    job_uri: str
    message: str
    works: list[dict]


def _check_open(job: JobPost) -> None:
    if not job.is_open():
        raise ValidationError({"job": f"This job is {job.state_label.lower()} and no longer takes applications."})
    if job.apply_method != "inapp":
        raise ValidationError({"job": "This job takes applications on its own website or by email, not here."})


def _check_message(message: str) -> str:
    message = message.strip()
    if not message:
        raise ValidationError({"message": "Write a short message to the studio."})
    if len(message) > MAX_MESSAGE:
        raise ValidationError({"message": f"Keep the message under {MAX_MESSAGE:,} characters."})
    return message


async def apply(ctx: Context, applicant: Account, job_id: int, message: str, work_ids: list[int]) -> JobApplication:
    message = _check_message(message)
    if len(work_ids) > MAX_WORKS:
        raise ValidationError({"works": f"Choose at most {MAX_WORKS} works."})
    async with ctx.transaction() as tx:
        job = await tx.session.get(JobPost, job_id)
        if job is None:
            raise NotFound("No such job post.")
        if job.account_id == applicant.id:
            raise ValidationError({"job": "You posted this job; you cannot apply to it."})
        _check_open(job)
        if await tx.session.scalar(select(JobApplication.id).where(JobApplication.job_id == job.id,
                                                                   JobApplication.applicant_id == applicant.id)):
            raise ValidationError({"job": "You have already applied to this job."})
        chosen = list(await tx.session.scalars(select(Artwork).where(
            Artwork.id.in_(work_ids or [0]), Artwork.account_id == applicant.id, Artwork.state == "published",
            Artwork.visibility.in_(("public", "unlisted")))))
        if len(chosen) != len(set(work_ids)):
            raise ValidationError({"works": "Choose works from your own published portfolio."})
        works = [{"url": ctx.url(urls.artwork(applicant.username, w.id)), "title": w.title, "id": w.id} for w in chosen]
        application = JobApplication(job_id=job.id, applicant_id=applicant.id, message=message, works=works)
        tx.session.add(application)
        await tx.session.flush()
        notify(tx, job.account, "job_application", actor=applicant, object_type="job_application",
               object_id=application.id)
        if not job.is_local:
            emit(ctx, tx, JobApplicationSubmitted(application.id))
    return application


async def receive_remote_application(ctx: Context, applicant: Account, data: RemoteApplication) -> JobApplication:
    """An application sent to one of our jobs from another server (the job id is our own job's URL)."""
    message = _check_message(data.message)
    async with ctx.transaction() as tx:
        known = await tx.session.scalar(select(JobApplication).where(JobApplication.uri == data.uri))
        if known is not None:
            return known
        job_id = _own_id(ctx, data.job_uri, "/jobs")
        job = await tx.session.get(JobPost, job_id) if job_id is not None else None
        if job is None or not job.is_local:
            raise NotFound("The application is for a job that is not ours.")
        _check_open(job)
        existing = await tx.session.scalar(select(JobApplication).where(JobApplication.job_id == job.id,
                                                                        JobApplication.applicant_id == applicant.id))
        if existing is not None:
            raise ValidationError({"job": "This applicant has already applied."})
        works = [{"url": w["url"][:2048], "title": str(w.get("title", ""))[:200]} for w in data.works[:MAX_WORKS]
                 if isinstance(w.get("url"), str) and w["url"].startswith(("https://", "http://"))]
        application = JobApplication(job_id=job.id, applicant_id=applicant.id, message=message, works=works,
                                     uri=data.uri)
        tx.session.add(application)
        await tx.session.flush()
        notify(tx, job.account, "job_application", actor=applicant, object_type="job_application",
               object_id=application.id)
    return application


def _check_status(status: str) -> None:
    if status not in APPLICATION_STATUSES:
        raise ValidationError({"status": f"Status must be one of: {', '.join(APPLICATION_STATUSES)}."})


def _own_id(ctx: Context, uri: str, path: str) -> int | None:
    """The row id in one of our own URLs (`{base}{path}/{id}`), or None when the URL is not ours."""
    tail = uri.rstrip("/").rsplit("/", 1)[-1]
    number = parse_id(tail)
    if number is None:
        return None
    return number if ctx.url(f"{path}/{number}") == uri else None


def _change_status(tx: Transaction, application: JobApplication, status: str, studio: Account) -> bool:
    """Set the status and notify the applicant; False when it already was that status."""
    if application.job.account_id != studio.id:
        raise PermissionDenied("Only the studio that posted the job can change an application's status.")
    if application.status == status:
        return False
    application.status = status
    notify(tx, application.applicant, f"application_{status}", actor=studio, object_type="job_application",
           object_id=application.id)
    return True


async def set_status(ctx: Context, account: Account, application_id: int, status: str) -> JobApplication:
    _check_status(status)
    async with ctx.transaction() as tx:
        application = await tx.session.get(JobApplication, application_id)
        if application is None:
            raise NotFound("No such application.")
        if _change_status(tx, application, status, account) and not application.applicant.is_local:
            emit(ctx, tx, JobApplicationStatusChanged(application.id))  # their server shows it
    return application


async def receive_remote_status(ctx: Context, studio: Account, application_uri: str, status: str) -> JobApplication:
    """The studio on another server changed the status of an application one of our artists sent."""
    _check_status(status)
    async with ctx.transaction() as tx:
        application_id = _own_id(ctx, application_uri, "/applications")
        application = await tx.session.get(JobApplication, application_id) if application_id is not None else None
        if application is None or not application.applicant.is_local:
            raise NotFound("The status is for an application that is not ours.")
        _change_status(tx, application, status, studio)
    return application
