"""Timelines (home, public, tag), bookmarks and favourites: keyset pages with Mastodon's max_id / since_id /
min_id / limit and a Link header. Home is the web feed (follows, followed tags, own works, minus blocks and
mutes); public and tag are explore's listed works (opt-outs and silenced servers stay out)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries, queries_api
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Bookmark, Like
from cara_fed.queries_statuses import StatusWork
from cara_fed.text import normalize_tag
from web.api.base import endpoint, link_header, me, reply, viewer, window
from web.api.views import statuses_json

routes = web.RouteTableDef()


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


WorksIn = Callable[[AsyncSession, queries_api.Window], Awaitable[list[StatusWork]]]


async def _timeline(request: web.Request, works_in: WorksIn) -> web.Response:
    """One window of works as statuses, read and described in one database session (one checkout)."""
    w = window(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        works = await works_in(session, w)
        data = await statuses_json(request, session, works)
    return reply(data, headers=link_header(request, [work.id for work in works], more=len(works) == w.limit))


def _listing(query: Select) -> WorksIn:
    """A listing's window, the select built per request (public and tag timelines)."""
    return lambda session, w: queries_api.status_window(session, query, w)


@routes.get("/api/v1/timelines/home")
@endpoint("read:statuses")
async def home(request: web.Request) -> web.Response:
    account = await me(request)
    return await _timeline(request, lambda session, w: queries_api.home_statuses(session, account, w))


@routes.get("/api/v1/timelines/public")
@endpoint("read:statuses", user=False, public=True)
async def public(request: web.Request) -> web.Response:
    # only_media: every artwork has media, so the filter keeps them all.
    return await _timeline(request, _listing(queries_api.public_works(await viewer(request),
                                                                      local=_flag(request, "local"),
                                                                      remote=_flag(request, "remote"))))


@routes.get("/api/v1/timelines/tag/{hashtag}")
@endpoint("read:statuses", user=False, public=True)
async def tag(request: web.Request) -> web.Response:
    name = normalize_tag(request.match_info["hashtag"])
    if not name:
        return reply([])
    query = queries_api.tag_works(await viewer(request), name)
    if _flag(request, "local"):
        query = query.where(queries.Account.domain.is_(None))
    return await _timeline(request, _listing(query))


@routes.get("/api/v1/timelines/list/{list_id}")
@endpoint("read:lists")
async def list_timeline(request: web.Request) -> web.Response:
    return reply({"error": "Record not found"}, status=404)


@routes.get("/api/v1/timelines/direct")
@endpoint("read:statuses")
async def direct(request: web.Request) -> web.Response:
    return reply([])


async def _saved(request: web.Request, model: type[Bookmark] | type[Like]) -> web.Response:
    """Bookmarks and favourites page on the bookmark/like id (the order they were saved in)."""
    account = await me(request)
    w = window(request)
    async with request.app[CONTEXT_KEY].reads() as session:
        query = (select(model).where(model.account_id == account.id))
        rows = await queries_api.keyset(session, query, model.id, w)
        works = await queries_api.artworks_by_ids(session, [row.artwork_id for row in rows])
        visible = [works[row.artwork_id] for row in rows if row.artwork_id in works
                   and await queries.can_view_async(session, works[row.artwork_id], account)
                   and works[row.artwork_id].state == "published"]
        data = await statuses_json(request, session, visible)
    return reply(data, headers=link_header(request, [row.id for row in rows], more=len(rows) == w.limit))


@routes.get("/api/v1/bookmarks")
@endpoint("read:bookmarks")
async def bookmarks(request: web.Request) -> web.Response:
    return await _saved(request, Bookmark)


@routes.get("/api/v1/favourites")
@endpoint("read:favourites")
async def favourites(request: web.Request) -> web.Response:
    return await _saved(request, Like)
