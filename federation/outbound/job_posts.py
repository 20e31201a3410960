"""Job posts we send (DESIGN.md §4): Create/Update/Delete of a job `Page` to the poster's followers, an
in-app application to a studio elsewhere, and an application's status back to a remote applicant. The
shapes are federation/wire/job_posts.py; the Page is also served by content negotiation (`job_view`).

Outgoing ids: the Page is `/jobs/{id}` (HTML and AS by negotiation); Create is `{page}#create`; Update and
Delete get deterministic `/activities/{uuid5}` ids, as artworks do.
"""

from __future__ import annotations

import hashlib
import json

from aiohttp import web

from cara_fed import urls
from cara_fed.cache import account_tag, tag_response
from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.models import JobApplication, JobPost
from federation.negotiation import ap_error, ap_response, cached, require_signed_fetch
from federation.outbound.outbox import _record, delete_audience, event_id, follower_inboxes
from federation.wire import serialize as s
from federation.wire.job_posts import application_note, application_status_note, page_for_job


async def _local_job(ctx: Context, job_id: int | str) -> tuple[JobPost, list[str]] | None:
    async with ctx.sessions() as session:
        job = await session.get(JobPost, int(job_id))
        if job is None or not job.is_local or job.account.status != "active":
            return None
        return job, await follower_inboxes(session, job.account_id)


async def job_published(ctx: Context, job_id: int | str) -> None:
    """Create(Page) to the poster's followers."""
    found = await _local_job(ctx, job_id)
    if found is None or not found[1]:
        return
    job, inboxes = found
    page = page_for_job(ctx, job)
    await _record(ctx, job.account, s.activity(ctx, "Create", job.account, page, id_=page["id"] + "#create"), inboxes)


async def job_updated(ctx: Context, job_id: int | str) -> None:
    """Update(Page) after an edit, a close or a reopen; the id covers the content, so each change goes once."""
    found = await _local_job(ctx, job_id)
    if found is None or not found[1]:
        return
    job, inboxes = found
    page = page_for_job(ctx, job)
    digest = hashlib.sha256(json.dumps(page, sort_keys=True).encode()).hexdigest()[:16]
    id_ = event_id(ctx, f"update:{page['id']}:{job.updated_at.isoformat()}:{digest}")
    await _record(ctx, job.account, s.activity(ctx, "Update", job.account, page, id_=id_), inboxes)


async def job_deleted(ctx: Context, account_id: int | str, job_id: int | str) -> None:
    """Delete(Tombstone) to the current followers and every inbox the Create went to."""
    uri = ctx.url(urls.job(int(job_id)))
    audience = await delete_audience(ctx, account_id, uri)
    if audience is None:
        return
    account, inboxes, _ = audience
    delete = s.activity(ctx, "Delete", account, s.tombstone(uri, "Page"), to=[s.PUBLIC],
                        cc=[s.followers_id(ctx, account)], id_=event_id(ctx, f"delete:{uri}"))
    await _record(ctx, account, delete, inboxes)


async def send_job_application(ctx: Context, application_id: int | str) -> None:
    async with ctx.sessions() as session:
        application = await session.get(JobApplication, int(application_id))
        if application is None or not application.applicant.is_local or application.job.is_local:
            return
        studio = application.job.account
        inbox = studio.inbox_url or studio.shared_inbox_url or ""
    note = application_note(ctx, application)
    create = s.activity(ctx, "Create", application.applicant, note, to=note["to"], cc=[], id_=note["id"] + "#create")
    await _record(ctx, application.applicant, create, [inbox])


async def send_application_status(ctx: Context, application_id: int | str) -> None:
    async with ctx.sessions() as session:
        application = await session.get(JobApplication, int(application_id))
        if application is None or application.applicant.is_local or not application.uri:
            return
        applicant = application.applicant
        inbox = applicant.inbox_url or applicant.shared_inbox_url or ""
    # The id covers the status and the time, so flipping back and forth sends each change once.
    event = f"application-status:{application.id}:{application.status}:{application.updated_at.isoformat()}"
    note = application_status_note(ctx, application, event_id(ctx, event))
    create = s.activity(ctx, "Create", application.job.account, note, to=note["to"], cc=[], id_=note["id"] + "#create")
    await _record(ctx, application.job.account, create, [inbox])


# --- the Page by content negotiation (GET /jobs/{id} with an ActivityPub Accept header) ---------------


async def job_view(request: web.Request, job_id: str) -> web.Response:
    if denied := await require_signed_fetch(request):
        return denied

    async def build() -> web.Response:
        ctx = request.app[CONTEXT_KEY]
        async with ctx.sessions() as session:
            job = await session.get(JobPost, int(job_id)) if len(job_id) < 10 else None
            if job is None or not job.is_local or job.account.status != "active":
                return ap_error(404, "This job post does not exist here.")
            tag_response(request, account_tag(job.account_id))
            return ap_response(page_for_job(ctx, job))

    return await cached(request, build)


NEGOTIATED = [(urls.JOB_PATH, job_view)]
