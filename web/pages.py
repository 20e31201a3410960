"""Public pages: instance home, artist portfolio, artwork, project, tag, about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cara_fed import queries, queries_accounts, queries_artwork, queries_jobs, queries_safety, queries_social
from cara_fed.cache import LISTINGS, account_tag, tag_response
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, Project
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.queries_cards import CardWork
from cara_fed.recount import local_counts
from cara_fed.services import rules
from web import forms, viewer_pages
from web.cache import cached_page
from web.keys import ACCOUNT
from web.render import render, render_html

routes = web.RouteTableDef()


def cursor(request: web.Request) -> int | None:
    raw = request.query.get("before", "")
    if not raw:
        return None
    number = parse_whole(raw)
    if number is None:
        raise web.HTTPBadRequest(text="The page cursor must be a whole number (the `before` link of a page).")
    return min(number, INT4_MAX)  # ids are int4: a bigger cursor means "from the newest" (no overflow)


FEATURED = 4


def featured_artists(works: list[CardWork], limit: int = FEATURED) -> list[CardWork]:
    """The newest public work of each of the artists who published most recently: the home hero's "featured
    artists", taken from the page of latest works already loaded (no extra query)."""
    seen: dict[int, CardWork] = {}
    for work in works:
        if work.account_id not in seen and work.cover is not None and not work.sensitive:  # no CW in the hero
            seen[work.account_id] = work
    return list(seen.values())[:limit]


@routes.get("/", name="home")
@cached_page
async def home(request: web.Request) -> web.Response:
    before = cursor(request)
    signed_in = request[ACCOUNT] is not None
    if signed_in and (held := viewer_pages.cached(request)) is not None:
        return viewer_pages.respond(request, held)
    began = viewer_pages.clock(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        page = await queries.latest_public_cards(session, before=before)
    users, works = await local_counts(request.app[CONTEXT_KEY])
    featured = featured_artists(page.items) if before is None else []
    context = {"page": page, "users": users, "works": works, "featured": featured}
    if signed_in:
        held = viewer_pages.make(request, "home.html", context, subject=None, tags=(LISTINGS,), since=began,
                                 noai=True)
        return viewer_pages.respond(request, held)
    tag_response(request, LISTINGS)
    return render(request, "home.html", context)


async def _artist(session, username: str) -> Account:  # type: ignore[no-untyped-def]
    return _shown_artist(await queries.local_account(session, username), username)


def _shown_artist(account: Any, username: str) -> Any:
    """The page's artist (an Account, or queries_accounts.PageArtist), unless gone, suspended or not an artist."""
    if account is not None and account.deletion_due_at is not None:
        raise web.HTTPGone(text=f"@{username} is deleted (or being deleted).")
    if account is None or account.status == "suspended" or account.kind == "application":
        raise web.HTTPNotFound(text=f"There is no artist called @{username} here.")
    return account


@routes.get(r"/@{username:[A-Za-z0-9_]+}", name="portfolio")
@cached_page
async def portfolio(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    if viewer is not None and (held := viewer_pages.cached(request)) is not None and held.subject.id != viewer.id:
        async with request.app[CONTEXT_KEY].reads() as session:
            relation, safety = await queries_safety.follow_and_safety(session, viewer, held.subject)
        return _portfolio_for_visitor(request, held, held.subject, relation, safety)
    began = viewer_pages.clock(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        username = request.match_info["username"]
        found = await queries_accounts.portfolio_artist(session, username)
        account = _shown_artist(found.account if found is not None else None, username)
        assert found is not None  # _shown_artist raised 404 otherwise
        projects = await queries.project_cards(session, account.id) if found.has_projects else []
        cards = await queries.portfolio_cards(session, account, viewer, cursor(request),
                                              [p.cover_artwork_id for p in projects if p.cover_artwork_id])
        page, pinned, covers = cards.page, cards.pinned, cards.covers
        # The job board's open posts (the artist has posted some: open or not).
        jobs = await queries_jobs.open_job_lines(session, account.id, limit=10) if found.has_job_posts else []
        # The follow button's state and the block/mute flags (someone else's profile only): one statement.
        relation, safety = await queries_safety.follow_and_safety(session, viewer, account)
    context = {"account": account, "page": page, "pinned": pinned, "projects": projects, "covers": covers,
               "jobs": jobs, "relation": relation, "safety": safety,
               "is_owner": viewer is not None and viewer.id == account.id}
    if viewer is not None and viewer.id != account.id:  # a signed-in visitor: see web/viewer_pages.py
        subject = ProfileSubject(account.id, account.moved_target is not None)
        held = viewer_pages.make(request, "portfolio.html", context, subject=subject,
                                 tags=(account_tag(account.id),), since=began, noai=account.noai_default)
        return _portfolio_for_visitor(request, held, subject, relation, safety)
    tag_response(request, account_tag(account.id))
    return render(request, "portfolio.html", context, noai=account.noai_default)


@dataclass(frozen=True)
class ProfileSubject:
    """What a portfolio's per-visitor buttons need of the artist (templates read `account.moved_target` as a flag)."""
    id: int
    moved_target: bool


def _portfolio_for_visitor(request: web.Request, held: viewer_pages.Skeleton, subject: ProfileSubject,
                           relation: object, safety: dict[str, bool]) -> web.Response:
    actions = render_html(request, "_portfolio_actions.html", {"account": subject, "relation": relation,
                                                               "safety": safety, "is_owner": False})
    return viewer_pages.respond(request, held, {"profile_actions": actions})


@routes.get(r"/@{username:[A-Za-z0-9_]+}/{artwork_id:\d+}", name="artwork")
@cached_page
async def artwork(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    held = viewer_pages.cached(request) if viewer is not None else None
    if held is not None and held.subject.account_id != viewer.id:
        async with request.app[CONTEXT_KEY].reads() as session:
            social = await queries_social.artwork_social(session, held.subject, viewer)
        if social.blocked:  # everyone else may see it (it was kept): only a block, either way, hides it
            raise web.HTTPNotFound(text="This artwork does not exist or is not visible to you.")
        return _artwork_for_visitor(request, held, social)
    began = viewer_pages.clock(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        username = request.match_info["username"]
        account = _shown_artist(await queries_accounts.page_artist(session, username), username)
        work, more = await queries_artwork.work_and_more(session, account, forms.path_id(request, "artwork_id"))
        if work is None or work.account_id != account.id or not await queries.can_view_async(session, work, viewer):
            raise web.HTTPNotFound(text="This artwork does not exist or is not visible to you.")
        social = await queries_social.artwork_social(session, work, viewer)
    context = {"account": account, "work": work, "more": more, "social": social,
               "is_owner": viewer is not None and viewer.id == account.id}
    if viewer is not None and viewer.id != account.id and queries.can_view(work, None):
        # A signed-in visitor of a work everyone may see: the page without its visitor's parts is kept and shared
        # (web/viewer_pages.py); followers-only works are rendered whole for each follower.
        held = viewer_pages.make(request, "artwork.html", context, subject=work, tags=(account_tag(account.id),),
                                 since=began, noai=work.noai)
        return _artwork_for_visitor(request, held, social)
    tag_response(request, account_tag(account.id))
    return render(request, "artwork.html", context, noai=work.noai)


def _artwork_for_visitor(request: web.Request, held: viewer_pages.Skeleton,
                         social: queries_social.ArtworkSocial) -> web.Response:
    """The kept page (of a published work: viewer_pages.make is only asked for those) with this visitor's like,
    boost and save buttons and comment thread."""
    parts = {hole: render_html(request, "_artwork_social.html", {"work": held.subject, "social": social, "part": part,
                                                                 "is_owner": False})
             for part, hole in (("actions", "social_actions"), ("thread", "thread"))}
    return viewer_pages.respond(request, held, parts)


@routes.get(r"/@{username:[A-Za-z0-9_]+}/projects/{project_id:\d+}", name="project")
@cached_page
async def project(request: web.Request) -> web.Response:
    viewer = request[ACCOUNT]
    async with request.app[CONTEXT_KEY].reads() as session:
        account = await _artist(session, request.match_info["username"])
        item = await session.get(Project, forms.path_id(request, "project_id"))
        if item is None or item.account_id != account.id:
            raise web.HTTPNotFound(text="This project does not exist.")
        works = await queries.artworks_by_ids(session, [i.artwork_id for i in item.items])
        ordered = [works[i.artwork_id] for i in item.items
                   if i.artwork_id in works and queries.can_view(works[i.artwork_id], viewer)]
    tag_response(request, account_tag(account.id))
    return render(request, "project.html", {"account": account, "project": item, "works": ordered,
                                            "is_owner": viewer is not None and viewer.id == account.id})


@routes.get(r"/tags/{tag}", name="tag")
@cached_page
async def tag(request: web.Request) -> web.Response:
    from cara_fed.text import normalize_tag

    name = normalize_tag(request.match_info["tag"])
    if not name:
        raise web.HTTPNotFound(text="That is not a tag.")
    from cara_fed import queries_discovery

    viewer = request[ACCOUNT]
    async with request.app[CONTEXT_KEY].reads() as session:  # listed works only: opt-outs, blocks and mutes stay out
        page = await queries_discovery.tag_works(session, name, viewer, before=cursor(request))
        following = await queries_discovery.follows_tag(session, viewer, name)
    tag_response(request, LISTINGS)
    return render(request, "tag.html", {"tag": name, "page": page, "following": following})


@routes.get("/about", name="about")
@cached_page
async def about(request: web.Request) -> web.Response:
    users, works = await local_counts(request.app[CONTEXT_KEY])
    async with request.app[CONTEXT_KEY].reads() as session:
        listed = await rules.listed(session)
    tag_response(request, LISTINGS)
    return render(request, "about.html", {"users": users, "works": works, "rules": listed})
