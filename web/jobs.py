"""The job board's public pages: the board (filters, search, sort, pages), a job, and RSS feeds."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from aiohttp import web
from markupsafe import Markup

from cara_fed import queries, queries_jobs, urls
from cara_fed.cache import LISTINGS, tag_response
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import JobPost
from cara_fed.models.jobs import APPLY_METHODS, EMPLOYMENT_TYPES, PAY_PERIODS, WORKPLACES
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.queries_jobs import BoardFilters
from cara_fed.taxonomy import FIELDS
from web import forms
from web.cache import cached_page
from web.keys import ACCOUNT
from web.render import profile_path, render

routes = web.RouteTableDef()

SCHEMA_EMPLOYMENT = {"full-time": "FULL_TIME", "part-time": "PART_TIME", "contract": "CONTRACTOR",
                     "freelance": "CONTRACTOR", "internship": "INTERN"}
SCHEMA_UNIT = {"hour": "HOUR", "day": "DAY", "week": "WEEK", "month": "MONTH", "year": "YEAR"}


def job_path(job: JobPost) -> str:
    return urls.job(job.id)


def pay_text(job: JobPost) -> str:
    """'3,000–4,500 EUR per month', 'from 20 USD per hour', or ''."""
    if job.pay_min is None and job.pay_max is None:
        return ""
    if job.pay_min is not None and job.pay_max is not None and job.pay_min != job.pay_max:
        amount = f"{job.pay_min:,}–{job.pay_max:,}"
    elif job.pay_min is not None and job.pay_max is None:
        amount = f"from {job.pay_min:,}"
    elif job.pay_min is None:
        amount = f"up to {job.pay_max:,}"
    else:
        amount = f"{job.pay_min:,}"
    return " ".join(part for part in (amount, job.currency, PAY_PERIODS.get(job.pay_period, "")) if part)


LABELS = {"EMPLOYMENT_TYPES": EMPLOYMENT_TYPES, "WORKPLACES": WORKPLACES, "PAY_PERIODS": PAY_PERIODS,
          "APPLY_METHODS": APPLY_METHODS, "FIELDS": FIELDS, "pay_text": pay_text, "job_path": job_path}


def filters_from(query: Any) -> tuple[BoardFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    raw_pay, raw_page = query.get("min_pay", "").strip(), query.get("page", "1").strip() or "1"
    min_pay = None
    if raw_pay:
        min_pay = parse_whole(raw_pay, most=INT4_MAX)
        if min_pay is None:
            errors["min_pay"] = "Minimum pay must be a whole number, like 3000."
    if parse_whole(raw_page, least=1, most=999_999) is None:
        errors["page"] = "The page must be a number."
        raw_page = "1"
    filters = BoardFilters(
        q=query.get("q", "")[:200], field=query.get("field", ""), employment_type=query.get("type", ""),
        workplace=query.get("workplace", ""), location=query.get("location", "")[:100], min_pay=min_pay,
        since=query.get("since", ""), origin=query.get("origin", "all") or "all",
        include_closed=query.get("status", "open") == "all", sort=query.get("sort", "newest") or "newest",
        page=int(raw_page))
    if filters.field and filters.field not in FIELDS:
        errors["field"] = f"Unknown field “{filters.field[:60]}”."
    errors.update(filters.problems())
    return filters, errors


def _page_link(query: Any, page: int) -> str:
    params = {k: v for k, v in query.items() if k != "page" and v}
    if page > 1:
        params["page"] = str(page)
    return "/jobs" + ("?" + urlencode(params) if params else "")


@routes.get("/jobs", name="jobs")
@cached_page
async def board(request: web.Request) -> web.Response:
    filters, errors = filters_from(request.query)
    if errors:
        return render(request, "jobs.html", {"board": None, "errors": errors, "query": request.query, **LABELS},
                      status=400)
    async with request.app[CONTEXT_KEY].reads() as session:
        found = await queries_jobs.board(session, filters)
    tag_response(request, LISTINGS)
    links = {"prev": _page_link(request.query, found.page - 1) if found.page > 1 else None,
             "next": _page_link(request.query, found.page + 1) if found.page < found.pages else None}
    return render(request, "jobs.html", {"board": found, "errors": {}, "query": request.query, "links": links,
                                         "filtered": any(v for k, v in request.query.items() if k != "page"),
                                         **LABELS})


def json_ld(request: web.Request, job: JobPost) -> Markup:
    """schema.org JobPosting for search engines (script data block: '<' escaped so it cannot close the tag)."""
    ctx = request.app[CONTEXT_KEY]
    studio = job.account
    doc: dict[str, Any] = {
        "@context": "https://schema.org/", "@type": "JobPosting", "title": job.title,
        "description": job.description_html or job.title, "datePosted": job.published_at.date().isoformat(),
        "employmentType": SCHEMA_EMPLOYMENT.get(job.employment_type, "OTHER"),
        "hiringOrganization": {"@type": "Organization", "name": studio.name,
                               "sameAs": ctx.url(profile_path(studio)) if studio.is_local else (studio.url or "")},
        "url": job.url or ctx.url(job_path(job)), "directApply": job.apply_method == "inapp",
    }
    if job.deadline:
        doc["validThrough"] = job.deadline.isoformat()
    if job.location:
        doc["jobLocation"] = {"@type": "Place", "address": {"@type": "PostalAddress", "addressLocality": job.location}}
    if job.workplace == "remote":
        doc["jobLocationType"] = "TELECOMMUTE"
        doc["applicantLocationRequirements"] = {"@type": "Country", "name": job.location or "Anywhere"}
    if job.pay_min is not None or job.pay_max is not None:
        value: dict[str, Any] = {"@type": "QuantitativeValue", "unitText": SCHEMA_UNIT.get(job.pay_period, "OTHER")}
        if job.pay_min is not None:
            value["minValue"] = job.pay_min
        if job.pay_max is not None:
            value["maxValue"] = job.pay_max
        doc["baseSalary"] = {"@type": "MonetaryAmount", "currency": job.currency, "value": value}
    if job.skills:
        doc["skills"] = ", ".join(job.skills)
    if job.field:
        doc["occupationalCategory"] = job.field
    text = json.dumps(doc, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


@routes.get(r"/jobs/{job_id:\d+}", name="job")
async def job_page(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    number = forms.path_id(request, "job_id") if len(request.match_info["job_id"]) < 10 else 0
    async with request.app[CONTEXT_KEY].reads() as session:
        job = await queries_jobs.job(session, number)
        if job is None:
            raise web.HTTPNotFound(text="This job post does not exist (it may have been deleted).")
        is_owner = viewer is not None and viewer.id == job.account_id
        application = await queries_jobs.application_of(session, job.id, viewer.id) if viewer else None
        works = (await queries.portfolio(session, viewer, viewer, limit=60)).items if viewer and not is_owner else []
        count = (await queries_jobs.application_counts(session, [job.id])).get(job.id, 0) if is_owner else 0
    return render(request, "job.html", {"job": job, "is_owner": is_owner, "json_ld": json_ld(request, job),
                                        "application": application, "count": count, "errors": {}, "form": {},
                                        "works": [w for w in works if w.state == "published"], **LABELS})


# --- feeds --------------------------------------------------------------------------------------


def _rss(request: web.Request, title: str, link: str, description: str, jobs: list[JobPost]) -> web.Response:
    """RSS 2.0 (with an atom:link to itself). Built with ElementTree: every value is escaped."""
    ctx = request.app[CONTEXT_KEY]
    atom = "http://www.w3.org/2005/Atom"
    ET.register_namespace("atom", atom)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    for name, value in (("title", title), ("link", ctx.url(link)), ("description", description),
                        ("language", "en")):
        ET.SubElement(channel, name).text = value
    ET.SubElement(channel, f"{{{atom}}}link", {"href": ctx.url(request.path), "rel": "self",
                                                "type": "application/rss+xml"})
    for job in jobs:
        item = ET.SubElement(channel, "item")
        url = ctx.url(job_path(job))
        facts = [job.account.name, EMPLOYMENT_TYPES.get(job.employment_type, ""), WORKPLACES.get(job.workplace, ""),
                 job.location, pay_text(job)]
        ET.SubElement(item, "title").text = f"{job.title} — {job.account.name}"
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", {"isPermaLink": "true"}).text = url
        ET.SubElement(item, "description").text = (
            "<p>" + " · ".join(f for f in facts if f) + "</p>" + (job.description_html or ""))
        ET.SubElement(item, "pubDate").text = job.published_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
        ET.SubElement(item, "author").text = f"nobody@{ctx.config.server.domain} ({job.account.name})"
        if job.field:
            ET.SubElement(item, "category").text = job.field
    body = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return web.Response(body=body, content_type="application/rss+xml", charset="utf-8",
                        headers={"X-Robots-Tag": "noai, noimageai"})


@routes.get("/jobs.rss", name="jobs_feed")
async def board_feed(request: web.Request) -> web.Response:
    filters, errors = filters_from(request.query)
    if errors:
        raise web.HTTPBadRequest(text="; ".join(errors.values()))
    async with request.app[CONTEXT_KEY].reads() as session:
        found = await queries_jobs.board(session, filters, per_page=50)
    name = request.app[CONTEXT_KEY].config.instance.name
    return _rss(request, f"Jobs · {name}", "/jobs", f"Open jobs for artists on {name}", found.items)


@routes.get(r"/@{username:[A-Za-z0-9_]+}/jobs.rss", name="studio_jobs_feed")
async def studio_feed(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].reads() as session:
        account = await queries.local_account(session, request.match_info["username"])
        if account is None or account.status != "active" or account.kind == "application":
            raise web.HTTPNotFound(text=f"There is no studio called @{request.match_info['username']} here.")
        jobs = await queries_jobs.studio_jobs(session, account)
    return _rss(request, f"Jobs at {account.name}", profile_path(account), f"Open jobs posted by {account.name}", jobs)
