"""Job posts: create, edit, close, reopen, delete (local), and store/remove federated ones. The only writer
of JobPost rows. Expiry needs no job: a post past its deadline reads as expired (JobPost.is_open)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import JobDeleted, JobPublished, JobUpdated, emit
from cara_fed.models import Account, JobImage, JobPost
from cara_fed.models.jobs import APPLY_METHODS, EMPLOYMENT_TYPES, PAY_PERIODS, WORKPLACES
from cara_fed.services import account_email
from cara_fed.services.media import Upload, check_upload, store_original
from cara_fed.services.remote import RemoteImage, remote_asset
from cara_fed.taxonomy import FIELDS
from cara_fed.text import render_markdown, sanitize_html

MAX_IMAGES = 4
MAX_PAY = 100_000_000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


@dataclass
class JobInput:
    """What a studio types. Numbers and the deadline stay text here so bad input gets a clear message."""

    title: str
    description: str = ""
    field: str = ""
    role: str = ""
    employment_type: str = "full-time"
    location: str = ""
    workplace: str = "onsite"
    pay_min: str = ""
    pay_max: str = ""
    currency: str = ""
    pay_period: str = ""
    skills: list[str] = dataclass_field(default_factory=list)
    deadline: str = ""  # YYYY-MM-DD: applications close at the end of that day (UTC)
    apply_method: str = "inapp"
    apply_url: str = ""
    apply_email: str = ""


@dataclass
class Parsed:
    pay_min: int | None
    pay_max: int | None
    deadline: datetime | None


def _amount(raw: str, name: str, errors: dict[str, str]) -> int | None:
    text = raw.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    try:
        value = int(float(text))
    except (ValueError, OverflowError):  # "inf", "1e400" overflow int()
        errors[name] = "Pay must be a whole number, like 3500."
        return None
    if value < 0:
        errors[name] = "Pay cannot be negative."
    elif value > MAX_PAY:
        errors[name] = "That amount is too large."
    return value


def _deadline(raw: str, errors: dict[str, str], keep: datetime | None) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        errors["deadline"] = "Give the deadline as a date (YYYY-MM-DD)."
        return None
    value = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
    if value < utcnow() and value != keep:  # an unchanged deadline may stay in the past (editing an expired post)
        errors["deadline"] = "The deadline is in the past; choose a later date or leave it empty."
    return value


def validate(data: JobInput, keep_deadline: datetime | None = None) -> Parsed:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = "Give the job a title."
    elif len(data.title) > 200:
        errors["title"] = "Keep the title under 200 characters."
    if len(data.description) > 20_000:
        errors["description"] = "Keep the description under 20,000 characters."
    if data.field and data.field not in FIELDS:
        errors["field"] = f"Unknown field “{data.field}”."
    if len(data.role) > 100:
        errors["role"] = "Keep the role under 100 characters."
    if data.employment_type not in EMPLOYMENT_TYPES:
        errors["employment_type"] = ("Unknown employment type; choose one of: "
                                     f"{', '.join(EMPLOYMENT_TYPES)}.")
    if data.workplace not in WORKPLACES:
        errors["workplace"] = f"Choose where the work happens: {', '.join(WORKPLACES)}."
    if len(data.location) > 200:
        errors["location"] = "Keep the location under 200 characters."
    pay_min, pay_max = _amount(data.pay_min, "pay_min", errors), _amount(data.pay_max, "pay_max", errors)
    if pay_min is not None and pay_max is not None and "pay_min" not in errors and "pay_max" not in errors \
            and pay_min > pay_max:
        errors["pay_max"] = "The maximum pay is below the minimum; swap them or fix one."
    if pay_min is not None or pay_max is not None:
        if not CURRENCY_RE.match(data.currency.strip().upper()):
            errors["currency"] = "Give the currency as a three-letter code, like EUR or USD."
        if data.pay_period not in PAY_PERIODS:
            errors["pay_period"] = f"Choose what the pay is for: {', '.join(PAY_PERIODS)}."
    deadline = _deadline(data.deadline, errors, keep_deadline)
    if data.apply_method not in APPLY_METHODS:
        errors["apply_method"] = "Choose how people apply: here, on a website, or by email."
    elif data.apply_method == "url" and not data.apply_url.strip().startswith(("https://", "http://")):
        errors["apply_url"] = "Give the web address where people apply (starting with https://)."
    elif data.apply_method == "email" and not EMAIL_RE.match(data.apply_email.strip()):
        errors["apply_email"] = "Give the email address where people apply."
    if errors:
        raise ValidationError(errors)
    return Parsed(pay_min, pay_max, deadline)


def search_text(job: JobPost, studio: Account) -> str:
    parts = [job.title, job.role, job.field, job.location, " ".join(job.skills or []), studio.name, studio.username,
             re.sub(r"<[^>]+>", " ", job.description_html)]
    return " ".join(" ".join(parts).lower().split())[:20_000]


def _apply(job: JobPost, data: JobInput, parsed: Parsed, studio: Account) -> None:
    job.title = data.title.strip()
    job.description = data.description
    job.description_html = render_markdown(data.description)
    job.field, job.role = data.field, data.role.strip()
    job.employment_type, job.workplace, job.location = data.employment_type, data.workplace, data.location.strip()
    job.pay_min, job.pay_max = parsed.pay_min, parsed.pay_max
    paid = parsed.pay_min is not None or parsed.pay_max is not None
    job.currency = data.currency.strip().upper() if paid else ""
    job.pay_period = data.pay_period if paid else ""
    job.skills = list(dict.fromkeys(s.strip()[:40] for s in data.skills if s.strip()))[:20]
    job.deadline = parsed.deadline
    job.apply_method = data.apply_method
    job.apply_url = data.apply_url.strip() if data.apply_method == "url" else ""
    job.apply_email = data.apply_email.strip() if data.apply_method == "email" else ""
    job.search_text = search_text(job, studio)


async def create_job(ctx: Context, account: Account, data: JobInput, uploads: list[Upload] | None = None) -> JobPost:
    if not account.is_local:
        raise PermissionDenied("Only accounts on this server can post jobs here.")
    account_email.require_verified(ctx, account)
    parsed = validate(data)
    uploads = uploads or []
    if len(uploads) > MAX_IMAGES:
        raise ValidationError({"images": f"A job post can have at most {MAX_IMAGES} images."})
    types = [check_upload(ctx, upload, "images") for upload in uploads]
    async with ctx.transaction() as tx:
        job = JobPost(account_id=account.id, title="")
        _apply(job, data, parsed, account)
        tx.session.add(job)
        for position, (upload, content_type) in enumerate(zip(uploads, types, strict=True)):
            asset = await store_original(ctx, tx, account.id, upload, content_type, "job")
            job.images.append(JobImage(asset=asset, position=position, alt_text=upload.alt_text.strip()[:1500]))
        await tx.session.flush()
        emit(ctx, tx, JobPublished(job.id))
    return job


async def _owned(session, account: Account, job_id: int) -> JobPost:  # type: ignore[no-untyped-def]
    job = await session.get(JobPost, job_id)
    if job is None:
        raise NotFound("No such job post.")
    if job.account_id != account.id or not job.is_local:
        raise PermissionDenied("This job post belongs to someone else.")
    return job


async def update_job(ctx: Context, account: Account, job_id: int, data: JobInput) -> JobPost:
    async with ctx.transaction() as tx:
        job = await _owned(tx.session, account, job_id)
        parsed = validate(data, keep_deadline=job.deadline)
        _apply(job, data, parsed, account)
        job.updated_at = utcnow()
        emit(ctx, tx, JobUpdated(job.id))
    return job


async def set_open(ctx: Context, account: Account, job_id: int, open_: bool) -> JobPost:
    """Close (no more applications, out of "open" listings) or reopen. Reopening a post whose deadline has
    passed needs a new deadline first, or it would still read as expired."""
    async with ctx.transaction() as tx:
        job = await _owned(tx.session, account, job_id)
        if open_ and job.deadline is not None and job.deadline <= utcnow():
            raise ValidationError({"deadline": "The deadline has passed: edit the post and set a new deadline "
                                               "to reopen it."})
        job.status = "open" if open_ else "closed"
        job.closed_at = None if open_ else utcnow()
        job.updated_at = utcnow()
        emit(ctx, tx, JobUpdated(job.id))
    return job


async def delete_job(ctx: Context, account: Account, job_id: int) -> None:
    async with ctx.transaction() as tx:
        job = await _owned(tx.session, account, job_id)
        assets = [image.asset for image in job.images]
        keys = [("private", a.original_key) for a in assets if a.original_key]
        keys += [("public", d.key) for a in assets for d in a.derivatives]
        await tx.session.delete(job)
        for asset in assets:
            await tx.session.delete(asset)
        for area, key in keys:
            tx.after_commit(ctx.storage.delete, area, key)
        emit(ctx, tx, JobDeleted(account.id, job_id))


# --- federated jobs (written by the federation edge's handlers) -------------------------------------


@dataclass
class RemoteJob:
    uri: str
    url: str | None
    title: str
    description_html: str = ""
    field: str = ""
    role: str = ""
    employment_type: str = "full-time"
    location: str = ""
    workplace: str = "onsite"
    pay_min: int | None = None
    pay_max: int | None = None
    currency: str = ""
    pay_period: str = ""
    skills: list[str] = dataclass_field(default_factory=list)
    deadline: datetime | None = None
    apply_method: str = "inapp"
    apply_url: str = ""
    apply_email: str = ""
    status: str = "open"
    published: datetime | None = None
    images: list[RemoteImage] = dataclass_field(default_factory=list)


def _clean_remote(data: RemoteJob) -> RemoteJob:
    """Be liberal in what we store from others, but only values our pages and filters understand."""
    data.title = data.title.strip()[:200] or "Untitled job"
    data.description_html = sanitize_html(data.description_html)
    data.employment_type = data.employment_type if data.employment_type in EMPLOYMENT_TYPES else "full-time"
    data.workplace = data.workplace if data.workplace in WORKPLACES else "onsite"
    data.pay_period = data.pay_period if data.pay_period in PAY_PERIODS else ""
    data.apply_method = data.apply_method if data.apply_method in APPLY_METHODS else "inapp"
    data.currency = data.currency.upper() if CURRENCY_RE.match(data.currency.upper()) else ""
    for name in ("pay_min", "pay_max"):
        value = getattr(data, name)
        setattr(data, name, value if isinstance(value, int) and 0 <= value <= MAX_PAY else None)
    if data.apply_method == "url" and not data.apply_url.startswith(("https://", "http://")):
        data.apply_method = "inapp"
    data.status = data.status if data.status in ("open", "closed") else "open"
    data.field, data.role, data.location = data.field[:64], data.role[:100], data.location[:200]
    data.skills = [s[:40] for s in data.skills if s][:20]
    return data


async def upsert_remote_job(ctx: Context, author: Account, data: RemoteJob) -> JobPost:
    data = _clean_remote(data)
    async with ctx.transaction() as tx:
        job = await tx.session.scalar(select(JobPost).where(JobPost.uri == data.uri))
        if job is not None and job.account_id != author.id:
            raise PermissionDenied("Only the author of a job post may change it.")
        if job is None:
            job = JobPost(account_id=author.id, uri=data.uri, title="", published_at=data.published or utcnow())
            tx.session.add(job)
        for name in ("url", "title", "description_html", "field", "role", "employment_type", "location", "workplace",
                     "pay_min", "pay_max", "currency", "pay_period", "skills", "deadline", "apply_method", "apply_url",
                     "apply_email"):
            setattr(job, name, getattr(data, name))
        if job.status != data.status:
            job.closed_at = utcnow() if data.status == "closed" else None
        job.status = data.status
        job.updated_at = utcnow()
        job.search_text = search_text(job, author)
        wanted = data.images[:MAX_IMAGES]
        if [image.asset.remote_url for image in job.images] != [image.url for image in wanted]:
            job.images = [JobImage(position=i, alt_text=image.alt_text[:1500], asset=remote_asset(author, image))
                          for i, image in enumerate(wanted)]
            await tx.session.flush()
            for image in job.images:
                tx.after_commit(ctx.jobs.enqueue, tasks.FETCH_REMOTE_MEDIA, image.asset.id)
        await tx.session.flush()
    return job


async def delete_remote_job(ctx: Context, author: Account, uri: str) -> bool:
    """Remove a federated job post its author deleted. False when we do not have it."""
    async with ctx.transaction() as tx:
        job = await tx.session.scalar(select(JobPost).where(JobPost.uri == uri, JobPost.account_id == author.id))
        if job is None:
            return False
        await tx.session.delete(job)
    return True
