"""The job board over HTTP: posting, the board's filters and search, the job page's JSON-LD, RSS feeds,
applications and notifications, and bad input with clear messages — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import feedparser
from sqlalchemy import select, update

from cara_fed.db import utcnow
from cara_fed.models import JobApplication, JobPost, Notification
from cara_fed.services import accounts, jobs
from cara_fed.services.jobs import JobInput
from tests.conftest import csrf_from, sign_up

FUTURE = (utcnow() + timedelta(days=30)).date().isoformat()


def job_form(**fields: str) -> dict[str, str]:
    base = {"title": "Concept artist", "description": "Paint *worlds* with us.", "field": "Concept Art",
            "role": "Senior concept artist", "employment_type": "full-time", "workplace": "hybrid",
            "location": "Berlin", "pay_min": "3000", "pay_max": "4500", "currency": "eur", "pay_period": "month",
            "skills": "Photoshop, Blender", "deadline": FUTURE, "apply_method": "inapp"}
    return {**base, **fields}


async def post_job(client, **fields: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/jobs/new")
    return await client.post("/jobs/new", data={"csrf_token": token, **job_form(**fields)}, allow_redirects=False)


async def make_account(ctx, name: str, kind: str = "studio"):  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        return await accounts.create_account(ctx, tx, name, f"{name}@example.org", "password123", kind=kind,
                                             display_name=name.title(), bypass_registration=True)


async def test_studio_posts_a_job_and_it_shows_everywhere(client, ctx):
    await sign_up(client, "inkwell", kind="studio", display_name="Inkwell Studio")
    response = await post_job(client)
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/jobs/\d+", location)

    page = await client.get(location)
    html = await page.text()
    assert page.status == 200
    assert "Concept artist" in html and "3,000–4,500 EUR per month" in html and "Hybrid · Berlin" in html
    assert "<em>worlds</em>" in html  # Markdown, sanitized
    # schema.org JobPosting for search engines, parseable JSON.
    raw = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    data = json.loads(raw)
    assert data["@context"] == "https://schema.org/" and data["@type"] == "JobPosting"
    assert data["title"] == "Concept artist" and data["employmentType"] == "FULL_TIME"
    assert data["hiringOrganization"]["name"] == "Inkwell Studio"
    assert data["baseSalary"]["currency"] == "EUR"
    assert data["baseSalary"]["value"] == {"@type": "QuantitativeValue", "unitText": "MONTH", "minValue": 3000,
                                           "maxValue": 4500}
    assert data["validThrough"].startswith(FUTURE) and data["jobLocation"]["address"]["addressLocality"] == "Berlin"

    board = await (await client.get("/jobs")).text()
    assert "Concept artist" in board and "1 job" in board
    profile = await (await client.get("/@inkwell")).text()
    assert "Concept artist" in profile and 'href="/@inkwell/jobs.rss"' in profile


async def test_bad_job_input_gets_clear_messages_and_stores_nothing(client, ctx):
    await sign_up(client, "inkwell", kind="studio")
    past = (utcnow() - timedelta(days=2)).date().isoformat()
    cases = [
        ({"title": "  "}, "Give the job a title."),
        ({"pay_min": "-5"}, "Pay cannot be negative."),
        ({"pay_min": "5000", "pay_max": "100"}, "The maximum pay is below the minimum"),
        ({"deadline": past}, "The deadline is in the past"),
        ({"employment_type": "gig"}, "Unknown employment type"),
        ({"currency": "euros"}, "three-letter code"),
        ({"apply_method": "url", "apply_url": "javascript:alert(1)"}, "web address where people apply"),
        ({"deadline": "next tuesday"}, "YYYY-MM-DD"),
    ]
    for fields, message in cases:
        response = await post_job(client, **fields)
        text = await response.text()
        assert response.status == 400, fields
        assert message in text, (fields, text[:2000])
    async with ctx.sessions() as session:
        assert (await session.scalars(select(JobPost))).all() == []


async def seed_board(ctx):  # type: ignore[no-untyped-def]
    ink = await make_account(ctx, "inkwell")
    pixel = await make_account(ctx, "pixelforge")
    created = {}
    for account, title, extra in [
        (ink, "Storyboard artist", {"field": "Storyboarding", "employment_type": "contract", "workplace": "remote",
                                    "location": "Anywhere in Europe", "pay_min": "300", "pay_max": "400",
                                    "pay_period": "day",
                                    "deadline": (utcnow() + timedelta(days=3)).date().isoformat()}),
        (ink, "Background painter", {"field": "Illustration", "employment_type": "freelance", "workplace": "onsite",
                                     "location": "Lyon", "pay_min": "", "pay_max": "", "currency": "",
                                     "pay_period": "", "skills": "Gouache", "deadline": ""}),
        (pixel, "Pixel art intern", {"field": "Pixel Art", "employment_type": "internship", "workplace": "hybrid",
                                     "location": "Tokyo", "pay_min": "1200", "pay_max": "", "currency": "JPY",
                                     "pay_period": "month", "skills": "Aseprite",
                                     "deadline": (utcnow() + timedelta(days=60)).date().isoformat()}),
    ]:
        data = job_form(title=title, **extra)
        data["skills"] = data["skills"].split(",")
        created[title] = await jobs.create_job(ctx, account, JobInput(**data))
    return ink, pixel, created


async def titles(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = await client.get("/jobs" + query)
    assert response.status == 200, await response.text()
    return re.findall(r'<span class="job-title">([^<]+)</span>', await response.text())


async def test_board_filters_search_sort_and_pages(client, ctx):
    ink, _pixel, created = await seed_board(ctx)
    assert set(await titles(client, "")) == {"Storyboard artist", "Background painter", "Pixel art intern"}
    assert await titles(client, "?q=aseprite") == ["Pixel art intern"]  # skills are searched
    assert await titles(client, "?q=inkwell+lyon") == ["Background painter"]  # studio name + location
    assert await titles(client, "?type=contract") == ["Storyboard artist"]
    assert await titles(client, "?workplace=remote") == ["Storyboard artist"]
    assert await titles(client, "?field=Pixel+Art") == ["Pixel art intern"]
    assert await titles(client, "?location=tok") == ["Pixel art intern"]
    assert set(await titles(client, "?min_pay=350")) == {"Storyboard artist", "Pixel art intern"}
    assert await titles(client, "?origin=remote") == []
    assert len(await titles(client, "?origin=local&since=1")) == 3
    # Deadline sort: soonest first, posts without a deadline last.
    assert await titles(client, "?sort=deadline") == ["Storyboard artist", "Pixel art intern", "Background painter"]
    # Pagination: 23 more posts -> two pages of 20.
    for number in range(23):
        await jobs.create_job(ctx, ink, JobInput(title=f"Inbetweener {number}", employment_type="contract"))
    # (New queries from here on: the anonymous page cache does not see writes made through another context.)
    first_page = await (await client.get("/jobs?type=contract&sort=newest")).text()
    assert "24 jobs" in first_page and 'rel="next" href="/jobs?type=contract&amp;sort=newest&amp;page=2"' in first_page
    assert len(await titles(client, "?type=contract&sort=newest&page=2")) == 4
    # Closing and expiry take posts off the open board (and "include closed" brings them back).
    await jobs.set_open(ctx, ink, created["Background painter"].id, False)
    async with ctx.transaction() as tx:  # the clock passes the storyboard's deadline
        await tx.session.execute(update(JobPost).where(JobPost.id == created["Storyboard artist"].id)
                                 .values(deadline=utcnow() - timedelta(minutes=1)))
    open_titles = await titles(client, "?q=a&field=Illustration")  # a fresh query (the page cache keys on it)
    assert open_titles == []
    everything = await (await client.get("/jobs?status=all&field=Illustration")).text()
    assert "Background painter" in everything and "Closed" in everything
    expired = await (await client.get("/jobs?status=all&type=contract&sort=deadline")).text()
    assert "Expired" in expired


async def test_bad_filters_say_what_is_wrong(client, ctx):
    for query, message in [("?type=gig", "Unknown employment type"), ("?min_pay=lots", "whole number"),
                           ("?sort=random", "Sort by newest or deadline"), ("?page=x", "The page must be a number")]:
        response = await client.get("/jobs" + query)
        assert response.status == 400
        assert message in await response.text()


async def test_rss_feeds_parse(client, ctx):
    await seed_board(ctx)
    response = await client.get("/jobs.rss")
    assert response.status == 200 and response.content_type == "application/rss+xml"
    feed = feedparser.parse(await response.read())
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title.startswith("Jobs")
    assert {e.title for e in feed.entries} == {"Storyboard artist — Inkwell", "Background painter — Inkwell",
                                               "Pixel art intern — Pixelforge"}
    entry = next(e for e in feed.entries if e.title.startswith("Pixel"))
    assert re.fullmatch(r"http://test\.example/jobs/\d+", entry.link) and "Tokyo" in entry.summary
    studio = feedparser.parse(await (await client.get("/@inkwell/jobs.rss")).read())
    assert not studio.bozo and len(studio.entries) == 2
    assert (await client.get("/@nobody/jobs.rss")).status == 404


async def test_edit_close_reopen_delete(client, ctx):
    await sign_up(client, "inkwell", kind="studio")
    location = (await post_job(client)).headers["Location"]
    job_id = location.rsplit("/", 1)[1]
    token = await csrf_from(client, f"/jobs/{job_id}/edit")
    edited = await client.post(f"/jobs/{job_id}/edit", data={"csrf_token": token, **job_form(title="Lead artist")},
                               allow_redirects=False)
    assert edited.status == 303
    assert "Lead artist" in await (await client.get(location)).text()
    await client.post(f"/jobs/{job_id}/close", data={"csrf_token": token})
    page = await (await client.get(location)).text()
    assert "Reopen" in page and "Closed" in page
    assert "Lead artist" not in await (await client.get("/jobs")).text()
    await client.post(f"/jobs/{job_id}/reopen", data={"csrf_token": token})
    assert "Lead artist" in await (await client.get("/jobs?q=lead")).text()
    deleted = await client.post(f"/jobs/{job_id}/delete", data={"csrf_token": token}, allow_redirects=False)
    assert deleted.status == 303
    assert (await client.get(location)).status == 404


async def test_applications_inbox_statuses_and_notifications(client, ctx, aiohttp_client):
    ink, _pixel, created = await seed_board(ctx)
    job = created["Pixel art intern"]
    await sign_up(client, "mira")  # an artist
    token = await csrf_from(client, f"/jobs/{job.id}")
    empty = await client.post(f"/jobs/{job.id}/apply", data={"csrf_token": token, "message": " "})
    assert empty.status == 400 and "Write a short message" in await empty.text()
    applied = await client.post(f"/jobs/{job.id}/apply", allow_redirects=False,
                                data={"csrf_token": token, "message": "I love pixels.\nHire me"})
    assert applied.status == 303
    assert "You applied" in await (await client.get(f"/jobs/{job.id}")).text()
    again = await client.post(f"/jobs/{job.id}/apply", data={"csrf_token": token, "message": "Me again"})
    assert again.status == 400 and "already applied" in await again.text()

    # Someone who did not post the job cannot see its applications.
    forbidden = await client.get(f"/jobs/{job.id}/applications")
    assert forbidden.status == 403 and "Only the studio that posted this job" in await forbidden.text()

    # Applying to a closed job is refused with a reason.
    await jobs.set_open(ctx, ink, created["Background painter"].id, False)
    closed = await client.post(f"/jobs/{created['Background painter'].id}/apply",
                               data={"csrf_token": token, "message": "Still hiring?"})
    assert closed.status == 400 and "closed and no longer takes applications" in await closed.text()

    async with ctx.sessions() as session:
        application = await session.scalar(select(JobApplication))
        assert application.status == "new" and application.message == "I love pixels.\nHire me"
        studio_note = await session.scalar(select(Notification).where(Notification.account_id == job.account_id))
        assert studio_note.kind == "job_application" and studio_note.read_at is None

    # The studio (another browser) sees the inbox, shortlists, and the artist is told.
    from cara_fed_run.app import create_app

    studio = await aiohttp_client(create_app(ctx.config, jobs="inline", migrate=False))
    login_token = await csrf_from(studio, "/login")
    await studio.post("/login", data={"csrf_token": login_token, "login": "pixelforge", "password": "password123"})
    inbox = await studio.get(f"/jobs/{job.id}/applications")
    html = await inbox.text()
    assert inbox.status == 200 and "I love pixels." in html and "@mira" in html
    notes = await (await studio.get("/notifications")).text()
    assert "applied to your job" in notes and '<span class="unread-count">1</span>' in notes
    studio_token = await csrf_from(studio, f"/jobs/{job.id}/applications")
    shortlisted = await studio.post(f"/applications/{application.id}/status",
                                    data={"csrf_token": studio_token, "status": "shortlisted"}, allow_redirects=False)
    assert shortlisted.status == 303
    bad = await studio.post(f"/applications/{application.id}/status", data={"csrf_token": studio_token,
                                                                            "status": "hired!"})
    assert bad.status == 400 and "Status must be one of" in await bad.text()
    await studio.post("/notifications/read", data={"csrf_token": studio_token})
    assert '<span class="unread-count">0</span>' in await (await studio.get("/notifications")).text()

    mine = await (await client.get("/notifications")).text()
    assert "shortlisted your application" in mine
    assert "Shortlisted" in await (await client.get(f"/jobs/{job.id}")).text()
