"""Job posts on the wire (DESIGN.md §4): a job is a `Page` with `name`, `summary`, `url` and image attachments,
so Mastodon renders a titled link, plus the JobPosting fields under our namespace (`cara:`), so another
cara-fed rebuilds the whole job. An in-app application to a job elsewhere is a direct `Note` to the
studio with the same kind of `cara:` fields. Serialize, parse, the outbound jobs and the inbound handling
all live here; federation/inbound/handlers.py dispatches to `receive` and `delete`.

Outgoing ids: the Page is `/jobs/{id}` (HTML and AS by negotiation); Create is `{page}#create`; Update and
Delete get deterministic `/activities/{uuid5}` ids, as artworks do.
"""

from __future__ import annotations

import hashlib
import json
import re
from html import escape
from typing import Any

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Delivery, JobApplication, JobPost, OutgoingActivity
from cara_fed.models.jobs import EMPLOYMENT_TYPES, PAY_PERIODS, WORKPLACES
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.services import job_applications
from cara_fed.services import jobs as jobs_service
from cara_fed.services.inbox import Received
from cara_fed.services.job_applications import RemoteApplication
from cara_fed.services.jobs import RemoteJob
from cara_fed.services.remote import domain_of
from federation.discovery.local import followed_here
from federation.inbound.outcome import Ignored
from federation.negotiation import FED_CTX, ap_error, ap_response, cached, require_signed_fetch
from federation.outbound.outbox import _record, event_id, follower_inboxes
from federation.wire import serialize as s
from federation.wire.parse import (
    CARA,
    Activity,
    first,
    get,
    images,
    iri,
    iris,
    links,
    plain_text,
    published,
    text,
    text_or_map,
)

# Every cara: term is a compact IRI under the `cara` prefix that serialize.CONTEXT defines, so any JSON-LD
# processor expands them to https://w3id.org/cara-fed/ns#<term>; values are plain JSON strings and numbers.
JOB_FIELDS = ("employmentType", "jobLocation", "jobLocationType", "occupationalCategory", "role", "salaryMin",
              "salaryMax", "salaryCurrency", "salaryUnit", "skills", "validThrough", "applyMethod", "applyUrl",
              "applyEmail", "jobStatus")


def page_id(ctx: Context, job: JobPost) -> str:
    return job.uri or ctx.url(f"/jobs/{job.id}")


def _summary(job: JobPost) -> str:
    """One line Mastodon shows under the title: who, what kind, where, pay, until when."""
    parts = [EMPLOYMENT_TYPES.get(job.employment_type, ""), WORKPLACES.get(job.workplace, ""), job.location]
    if job.pay_min is not None or job.pay_max is not None:
        amount = "–".join(f"{v:,}" for v in (job.pay_min, job.pay_max) if v is not None)
        parts.append(" ".join(p for p in (amount, job.currency, PAY_PERIODS.get(job.pay_period, "")) if p))
    if job.deadline:
        parts.append(f"apply by {job.deadline.strftime('%-d %b %Y')}")
    if job.status == "closed":
        parts.insert(0, "Closed")
    return f"<p>{escape(job.account.name)} is hiring: " + escape(" · ".join(p for p in parts if p)) + "</p>"


def page_for_job(ctx: Context, job: JobPost) -> dict:
    me = page_id(ctx, job)
    doc: dict[str, Any] = {
        "@context": s.CONTEXT, "id": me, "type": "Page", "attributedTo": s.actor_id(ctx, job.account),
        "name": job.title, "summary": _summary(job),
        "content": f"<p><strong>{escape(job.title)}</strong></p>{job.description_html}",
        "url": me, "published": s.iso(job.published_at), "to": [s.PUBLIC], "cc": [s.followers_id(ctx, job.account)],
        "attachment": [a for a in (s._attachment(ctx, image) for image in job.images) if a is not None],
        "cara:employmentType": job.employment_type, "cara:jobLocationType": job.workplace,
        "cara:jobStatus": job.status, "cara:applyMethod": job.apply_method,
    }
    if job.updated_at and job.published_at and job.updated_at - job.published_at > s.EDIT_GRACE:
        doc["updated"] = s.iso(job.updated_at)
    optional = {"cara:jobLocation": job.location, "cara:occupationalCategory": job.field, "cara:role": job.role,
                "cara:salaryMin": job.pay_min, "cara:salaryMax": job.pay_max, "cara:salaryCurrency": job.currency,
                "cara:salaryUnit": job.pay_period, "cara:skills": list(job.skills or []),
                "cara:validThrough": s.iso(job.deadline), "cara:applyUrl": job.apply_url,
                "cara:applyEmail": job.apply_email}
    doc.update({k: v for k, v in optional.items() if v not in (None, "", [])})
    return doc


def is_job(obj: dict) -> bool:
    return text(obj.get("type")) in ("Page", "as:Page") and _field(obj, "employmentType") is not None


def is_application(obj: dict) -> bool:
    return _field(obj, "applicationFor") is not None


def _field(obj: dict, name: str) -> Any:
    return get(obj, f"cara:{name}", CARA + name)


def _int(value: Any) -> int | None:
    value = first(value)
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        value = parse_whole(value)
    # Bounded to what the int4 pay columns hold (a bigger number would overflow in PostgreSQL).
    return value if isinstance(value, int) and -INT4_MAX <= value <= INT4_MAX else None


def _strings(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [found for item in values if (found := plain_text(text(item)))]


def parse_job(obj: dict) -> RemoteJob:
    """A compacted job Page -> RemoteJob (raises Ignored when it has no id)."""
    uri = iri(obj.get("id"))
    if not uri:
        raise Ignored("a job post needs an id")
    deadline = text(_field(obj, "validThrough"))
    urls = [u for u in links(obj.get("url")) if u.startswith(("https://", "http://"))]
    content = text_or_map(obj, "content")
    title = plain_text(text_or_map(obj, "name"))
    # Our own content repeats the title in bold first; keep the description without it.
    content = re.sub(r"^<p><strong>[^<]*</strong></p>", "", content, count=1) if title else content
    return RemoteJob(
        uri=uri, url=first(urls), title=title, description_html=content,
        field=plain_text(text(_field(obj, "occupationalCategory"))), role=plain_text(text(_field(obj, "role"))),
        employment_type=text(_field(obj, "employmentType")), location=plain_text(text(_field(obj, "jobLocation"))),
        workplace=text(_field(obj, "jobLocationType")) or "onsite", pay_min=_int(_field(obj, "salaryMin")),
        pay_max=_int(_field(obj, "salaryMax")), currency=text(_field(obj, "salaryCurrency")),
        pay_period=text(_field(obj, "salaryUnit")), skills=_strings(_field(obj, "skills")),
        deadline=published(deadline) if deadline else None, apply_method=text(_field(obj, "applyMethod")) or "inapp",
        apply_url=text(_field(obj, "applyUrl"))[:2048], apply_email=text(_field(obj, "applyEmail"))[:320],
        status=text(_field(obj, "jobStatus")) or "open", published=published(text(obj.get("published"))),
        images=images(obj.get("attachment")))


# --- outbound --------------------------------------------------------------------------------------


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
    uri = ctx.url(f"/jobs/{int(job_id)}")
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        if account is None or not account.is_local:
            return
        inboxes = await follower_inboxes(session, account.id)
        create = await session.scalar(select(OutgoingActivity).where(OutgoingActivity.uri == uri + "#create"))
        if create is not None:
            inboxes += list(await session.scalars(select(Delivery.inbox_url).where(Delivery.activity_id == create.id)))
    delete = s.activity(ctx, "Delete", account, s.tombstone(uri, "Page"), to=[s.PUBLIC],
                        cc=[s.followers_id(ctx, account)], id_=event_id(ctx, f"delete:{uri}"))
    await _record(ctx, account, delete, inboxes)


def application_note(ctx: Context, application: JobApplication) -> dict:
    """A direct message to the studio: readable anywhere (content), complete for cara-fed (cara: fields)."""
    job, applicant = application.job, application.applicant
    studio = s.actor_id(ctx, job.account)
    works = "".join(f'<li><a href="{escape(w["url"])}">{escape(w.get("title") or w["url"])}</a></li>'
                    for w in application.works)
    message = "".join(f"<p>{escape(line)}</p>" for line in application.message.splitlines() if line.strip())
    return {
        "@context": s.CONTEXT, "id": ctx.url(f"/applications/{application.id}"), "type": "Note",
        "attributedTo": s.actor_id(ctx, applicant), "to": [studio], "cc": [], "inReplyTo": page_id(ctx, job),
        "published": s.iso(application.created_at),
        "content": (f'<p>Application for <a href="{escape(page_id(ctx, job))}">{escape(job.title)}</a></p>'
                    f"{message}" + (f"<ul>{works}</ul>" if works else "")),
        "tag": [{"type": "Mention", "href": studio, "name": f"@{job.account.username}@{job.account.domain}"}],
        "cara:applicationFor": page_id(ctx, job), "cara:applicationMessage": application.message,
        "cara:applicationWorks": [{"type": "Link", "href": w["url"], "name": w.get("title", "")}
                                  for w in application.works],
    }


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


STATUS_WORDS = {"new": "moved back to new", "shortlisted": "shortlisted", "declined": "declined"}


def application_status_note(ctx: Context, application: JobApplication) -> dict:
    """A direct message from the studio to a remote applicant: readable anywhere, machine-readable for cara-fed.
    Its id covers the status and the time, so flipping back and forth sends each change once."""
    job, applicant = application.job, application.applicant
    event = f"application-status:{application.id}:{application.status}:{application.updated_at.isoformat()}"
    return {
        "@context": s.CONTEXT, "id": event_id(ctx, event), "type": "Note",
        "attributedTo": s.actor_id(ctx, job.account), "to": [applicant.uri], "cc": [],
        "inReplyTo": application.uri, "published": s.iso(application.updated_at),
        "content": (f'<p>Your application for <a href="{escape(page_id(ctx, job))}">{escape(job.title)}</a> was '
                    f"{STATUS_WORDS.get(application.status, escape(application.status))}.</p>"),
        "tag": [{"type": "Mention", "href": applicant.uri, "name": f"@{applicant.username}@{applicant.domain}"}],
        "cara:applicationFor": page_id(ctx, job), "cara:applicationStatus": application.status,
    }


async def send_application_status(ctx: Context, application_id: int | str) -> None:
    async with ctx.sessions() as session:
        application = await session.get(JobApplication, int(application_id))
        if application is None or application.applicant.is_local or not application.uri:
            return
        applicant = application.applicant
        inbox = applicant.inbox_url or applicant.shared_inbox_url or ""
    note = application_status_note(ctx, application)
    create = s.activity(ctx, "Create", application.job.account, note, to=note["to"], cc=[], id_=note["id"] + "#create")
    await _record(ctx, application.job.account, create, [inbox])


# --- inbound ---------------------------------------------------------------------------------------


def _works(value: Any) -> list[dict]:
    found = []
    for item in value if isinstance(value, list) else [value]:
        url = first(links(item))
        if url:
            found.append({"url": url, "title": plain_text(text(item.get("name"))) if isinstance(item, dict) else ""})
    return found


async def receive(ctx: Context, act: Activity, obj: dict, sender: Account, item: Received) -> bool:
    """Handle a job Page or an application Note; False when the object is neither (the caller goes on)."""
    status = _field(obj, "applicationStatus")
    if status is not None:
        if act.type != "Create":
            raise Ignored("status messages cannot be edited")
        if first(iris(obj.get("attributedTo"))) != sender.uri:
            raise Ignored("the status message is attributed to someone other than the sender")
        await job_applications.receive_remote_status(ctx, sender, iri(obj.get("inReplyTo")) or "", text(status))
        return True
    if is_application(obj):
        if act.type != "Create":
            raise Ignored("applications cannot be edited")
        if first(iris(obj.get("attributedTo"))) != sender.uri:
            raise Ignored("the application is attributed to someone other than the sender")
        message = text(_field(obj, "applicationMessage")) or plain_text(text_or_map(obj, "content"))
        await job_applications.receive_remote_application(ctx, sender, RemoteApplication(
            uri=iri(obj.get("id")) or act.id, job_uri=iri(_field(obj, "applicationFor")) or "",
            message=message, works=_works(_field(obj, "applicationWorks"))))
        return True
    if not is_job(obj):
        return False
    data = parse_job(obj)
    if first(iris(obj.get("attributedTo"))) != sender.uri:
        raise Ignored("the job post is attributed to someone other than the sender")
    if domain_of(data.uri) != domain_of(sender.uri or ""):
        raise Ignored("the job post's id is on another host than its author")
    async with ctx.sessions() as session:
        known = await session.scalar(select(JobPost.id).where(JobPost.uri == data.uri)) is not None
    if not known and not await followed_here(ctx, sender):
        raise Ignored("nobody here follows the studio")
    await jobs_service.upsert_remote_job(ctx, sender, data)
    return True


async def delete(ctx: Context, sender: Account, uri: str) -> bool:
    """Delete of a job post we stored: True when it was one."""
    return await jobs_service.delete_remote_job(ctx, sender, uri)


# --- the Page by content negotiation (GET /jobs/{id} with an ActivityPub Accept header) ---------------


async def job_view(request: web.Request, job_id: str) -> web.Response:
    if denied := await require_signed_fetch(request):
        return denied

    async def build() -> web.Response:
        ctx = request.app[FED_CTX]
        async with ctx.sessions() as session:
            job = await session.get(JobPost, int(job_id)) if len(job_id) < 10 else None
            if job is None or not job.is_local or job.account.status != "active":
                return ap_error(404, "This job post does not exist here.")
            return ap_response(page_for_job(ctx, job))

    return await cached(request, build)


NEGOTIATED = [(re.compile(r"/jobs/(?P<job_id>\d+)"), job_view)]
