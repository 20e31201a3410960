"""Job posts on the wire (DESIGN.md §4): a job is a `Page` with `name`, `summary`, `url` and image attachments,
so Mastodon renders a titled link, plus the JobPosting fields under our namespace (`cara:`), so another
cara-fed rebuilds the whole job. An in-app application to a job elsewhere is a direct `Note` to the
studio with the same kind of `cara:` fields. The shapes both ways live here (serialize and parse); what we
send is federation/outbound/job_posts.py, what we receive federation/inbound/job_posts.py.

Outgoing ids: the Page is `/jobs/{id}` (HTML and AS by negotiation); Create is `{page}#create`; Update and
Delete get deterministic `/activities/{uuid5}` ids, as artworks do.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

from cara_fed import urls
from cara_fed.models.jobs import EMPLOYMENT_TYPES, PAY_PERIODS, WORKPLACES
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.services.jobs import RemoteJob
from federation.wire import serialize as s
from federation.wire import serialize_artworks
from federation.wire.parse_artworks import CARA, images
from federation.wire.parse_values import first, get, iri, links, plain_text, published, text, text_or_map

if TYPE_CHECKING:
    from cara_fed.context import Context
    from cara_fed.models import JobApplication, JobPost

# Every cara: term is a compact IRI under the `cara` prefix that serialize.CONTEXT defines, so any JSON-LD
# processor expands them to https://w3id.org/cara-fed/ns#<term>; values are plain JSON strings and numbers.
JOB_FIELDS = ("employmentType", "jobLocation", "jobLocationType", "occupationalCategory", "role", "salaryMin",
              "salaryMax", "salaryCurrency", "salaryUnit", "skills", "validThrough", "applyMethod", "applyUrl",
              "applyEmail", "jobStatus")


def page_id(ctx: Context, job: JobPost) -> str:
    return job.uri or ctx.url(urls.job(job.id))


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
        "attachment": [a for a in (serialize_artworks._attachment(ctx, image) for image in job.images)
                       if a is not None],
        "cara:employmentType": job.employment_type, "cara:jobLocationType": job.workplace,
        "cara:jobStatus": job.status, "cara:applyMethod": job.apply_method,
    }
    if job.updated_at and job.published_at and job.updated_at - job.published_at > serialize_artworks.EDIT_GRACE:
        doc["updated"] = s.iso(job.updated_at)
    optional = {"cara:jobLocation": job.location, "cara:occupationalCategory": job.field, "cara:role": job.role,
                "cara:salaryMin": job.pay_min, "cara:salaryMax": job.pay_max, "cara:salaryCurrency": job.currency,
                "cara:salaryUnit": job.pay_period, "cara:skills": list(job.skills or []),
                "cara:validThrough": s.iso(job.deadline), "cara:applyUrl": job.apply_url,
                "cara:applyEmail": job.apply_email}
    doc.update({k: v for k, v in optional.items() if v not in (None, "", [])})
    return doc


def is_job(obj: dict) -> bool:
    return text(obj.get("type")) in ("Page", "as:Page") and field(obj, "employmentType") is not None


def is_application(obj: dict) -> bool:
    return field(obj, "applicationFor") is not None


def field(obj: dict, name: str) -> Any:
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
    """A compacted job Page -> RemoteJob (ValueError when it has no id)."""
    uri = iri(obj.get("id"))
    if not uri:
        raise ValueError("a job post needs an id")
    deadline = text(field(obj, "validThrough"))
    urls = [u for u in links(obj.get("url")) if u.startswith(("https://", "http://"))]
    content = text_or_map(obj, "content")
    title = plain_text(text_or_map(obj, "name"))
    # Our own content repeats the title in bold first; keep the description without it.
    content = re.sub(r"^<p><strong>[^<]*</strong></p>", "", content, count=1) if title else content
    return RemoteJob(
        uri=uri, url=first(urls), title=title, description_html=content,
        field=plain_text(text(field(obj, "occupationalCategory"))), role=plain_text(text(field(obj, "role"))),
        employment_type=text(field(obj, "employmentType")), location=plain_text(text(field(obj, "jobLocation"))),
        workplace=text(field(obj, "jobLocationType")) or "onsite", pay_min=_int(field(obj, "salaryMin")),
        pay_max=_int(field(obj, "salaryMax")), currency=text(field(obj, "salaryCurrency")),
        pay_period=text(field(obj, "salaryUnit")), skills=_strings(field(obj, "skills")),
        deadline=published(deadline) if deadline else None, apply_method=text(field(obj, "applyMethod")) or "inapp",
        apply_url=text(field(obj, "applyUrl"))[:2048], apply_email=text(field(obj, "applyEmail"))[:320],
        status=text(field(obj, "jobStatus")) or "open", published=published(text(obj.get("published"))),
        images=images(obj.get("attachment")))


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


STATUS_WORDS = {"new": "moved back to new", "shortlisted": "shortlisted", "declined": "declined"}


def application_status_note(ctx: Context, application: JobApplication, id_: str) -> dict:
    """A direct message from the studio to a remote applicant: readable anywhere, machine-readable for cara-fed."""
    job, applicant = application.job, application.applicant
    return {
        "@context": s.CONTEXT, "id": id_, "type": "Note",
        "attributedTo": s.actor_id(ctx, job.account), "to": [applicant.uri], "cc": [],
        "inReplyTo": application.uri, "published": s.iso(application.updated_at),
        "content": (f'<p>Your application for <a href="{escape(page_id(ctx, job))}">{escape(job.title)}</a> was '
                    f"{STATUS_WORDS.get(application.status, escape(application.status))}.</p>"),
        "tag": [{"type": "Mention", "href": applicant.uri, "name": f"@{applicant.username}@{applicant.domain}"}],
        "cara:applicationFor": page_id(ctx, job), "cara:applicationStatus": application.status,
    }


def application_works(value: Any) -> list[dict]:
    found = []
    for item in value if isinstance(value, list) else [value]:
        url = first(links(item))
        if url:
            found.append({"url": url, "title": plain_text(text(item.get("name"))) if isinstance(item, dict) else ""})
    return found
