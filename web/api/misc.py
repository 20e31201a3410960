"""The rest of what apps call: followed tags and tag pages, trends, suggestions, reports, and the features we do
not have yet answered the way Mastodon answers an empty account (lists, filters, conversations, scheduled posts),
so apps show an empty screen instead of an error. Creating those is refused with a 422 that says why."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed import queries_api, queries_discovery
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, TagFollow
from cara_fed.numbers import clamp
from cara_fed.services import reports, tag_follows
from cara_fed.text import normalize_tag
from web.api import entities, entities_statuses
from web.api.base import endpoint, int_id, link_header, me, not_found, params, reply, unprocessable, viewer, window
from web.api.statuses_load import load
from web.api.views import accounts_json, statuses_json

routes = web.RouteTableDef()


def _view(request: web.Request) -> entities.View:
    return entities.View.of(request.app[CONTEXT_KEY].config)


# --- tags ----------------------------------------------------------------------------------------


@routes.get("/api/v1/followed_tags")
@endpoint("read:follows")
async def followed_tags(request: web.Request) -> web.Response:
    account = await me(request)
    w = window(request, default=100, most=200)
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await queries_api.keyset(session, select(TagFollow).where(TagFollow.account_id == account.id),
                                        TagFollow.id, w)
    return reply([entities_statuses.tag(_view(request), row.tag, following=True) for row in rows],
                 headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


async def _tag_json(request: web.Request, name: str) -> dict:
    who = await viewer(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        following = await queries_discovery.follows_tag(session, who, name) if who is not None else None
    return entities_statuses.tag(_view(request), name, following=following)


@routes.get("/api/v1/tags/{name}")
@endpoint("read:follows", user=False, public=True)
async def show_tag(request: web.Request) -> web.Response:
    name = normalize_tag(request.match_info["name"])
    if not name:
        raise not_found()
    return reply(await _tag_json(request, name))


@routes.post("/api/v1/tags/{name}/{action:follow|unfollow}")
@endpoint("write:follows")
async def follow_tag(request: web.Request) -> web.Response:
    name = normalize_tag(request.match_info["name"])
    if not name:
        raise not_found()
    account = await me(request)
    if request.match_info["action"] == "follow":
        await tag_follows.follow(request.app[CONTEXT_KEY], account, name)
    else:
        await tag_follows.unfollow(request.app[CONTEXT_KEY], account, name)
    return reply(await _tag_json(request, name))


# --- trends and suggestions ----------------------------------------------------------------------


@routes.get("/api/v1/trends")
@routes.get("/api/v1/trends/tags")
@endpoint(None, user=False, public=True)
async def trending_tags(request: web.Request) -> web.Response:
    """Tags on the most listed works (all time: the server keeps no per-day tag history)."""
    limit = clamp(request.query.get("limit"), 10, most=20)
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_api.popular_tags(session, limit)
    return reply([entities_statuses.tag(_view(request), tag, uses=count) for tag, count in found])


@routes.get("/api/v1/trends/statuses")
@endpoint(None, user=False, public=True)
async def trending_statuses(request: web.Request) -> web.Response:
    limit = clamp(request.query.get("limit"), 20, most=40)
    async with request.app[CONTEXT_KEY].sessions() as session:
        works = await queries_discovery.popular_this_week(session, await viewer(request), limit=limit)
        return reply(await statuses_json(request, session, works))


@routes.get("/api/v1/trends/links")
@endpoint(None, user=False, public=True)
async def trending_links(request: web.Request) -> web.Response:
    return reply([])


@routes.get("/api/v2/suggestions")
@routes.get("/api/v1/suggestions")
@endpoint("read:accounts")
async def suggestions(request: web.Request) -> web.Response:
    account = await me(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        found = await queries_discovery.suggested_artists(session, account, limit=20)
        people = await accounts_json(request, session, [a for a, _ in found])
    if request.path.startswith("/api/v1/"):
        return reply(people)
    return reply([{"source": "similar_to_recently_followed", "sources": ["similar_to_recently_followed"],
                   "account": person} for person in people])


# --- reports -------------------------------------------------------------------------------------


@routes.post("/api/v1/reports")
@endpoint("write:reports")
async def report(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        target = await session.get(Account, int_id(p.text("account_id") or None))
        if target is None:
            raise not_found()
        artwork = None
        for raw in p.list("status_ids")[:1]:
            kind, work, comment = await load(request, session, str(raw))
            artwork = work if comment is None else None
    reason = p.text("comment") or p.text("category") or "Reported from an app"
    row = await reports.report(request.app[CONTEXT_KEY], account, target, artwork, reason,
                               forward=bool(p.flag("forward", True)))
    async with request.app[CONTEXT_KEY].sessions() as session:
        target_json = (await accounts_json(request, session, [target]))[0]
    return reply({"id": str(row.id), "action_taken": False, "action_taken_at": None,
                  "category": p.text("category") or "other", "comment": row.reason, "forwarded": row.forwarded,
                  "created_at": entities.iso(row.created_at), "status_ids": [str(artwork.id)] if artwork else [],
                  "rule_ids": [], "target_account": target_json})


# --- empty but valid -----------------------------------------------------------------------------


@routes.get("/api/v1/lists")
@routes.get("/api/v1/filters")
@routes.get("/api/v2/filters")
@routes.get("/api/v1/conversations")
@routes.get("/api/v1/scheduled_statuses")
@routes.get("/api/v1/domain_blocks")
@routes.get("/api/v1/followed_tags/suggestions")
@endpoint(None)
async def empty(request: web.Request) -> web.Response:
    return reply([])


@routes.post("/api/v1/lists")
@routes.post("/api/v2/filters")
@routes.post("/api/v1/filters")
@routes.post("/api/v1/domain_blocks")
@routes.post("/api/v1/push/subscription")
@endpoint(None)
async def not_offered(request: web.Request) -> web.Response:
    what = request.path.removeprefix("/api/").split("/", 2)[-1].replace("_", " ")
    raise unprocessable(f"{what.capitalize()} are not offered on this server yet")


@routes.get("/api/v1/push/subscription")
@routes.get(r"/api/v1/lists/{list_id}")
@routes.get(r"/api/v2/filters/{filter_id}")
@endpoint(None)
async def nothing_here(request: web.Request) -> web.Response:
    raise not_found()
