"""What a client does to an artwork's status: favourite, reblog, bookmark, pin (and the refused mute),
each through the same services the pages use; comments cannot be acted on this way."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork, Boost
from cara_fed.services import artworks, interactions
from web.api import entities_statuses
from web.api.base import endpoint, me, not_found, reply, unprocessable
from web.api.statuses_load import ID, load, render
from web.api.views import view_for

routes = web.RouteTableDef()


async def _artwork_for_action(request: web.Request) -> Artwork:
    async with request.app[CONTEXT_KEY].sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None:
        raise unprocessable("Only artworks can be liked, boosted, bookmarked or pinned, not comments")
    return work


@routes.post(rf"/api/v1/statuses/{ID}/{{action:favourite|unfavourite}}")
@endpoint("write:favourites")
async def favourite(request: web.Request) -> web.Response:
    account = await me(request)
    work = await _artwork_for_action(request)
    if request.match_info["action"] == "favourite":
        await interactions.add(request.app[CONTEXT_KEY], "like", account, work.id)
    else:
        await interactions.remove(request.app[CONTEXT_KEY], "like", account, work.id)
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:reblog|unreblog}}")
@endpoint("write:statuses")
async def boost(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CONTEXT_KEY]
    work = await _artwork_for_action(request)
    if request.match_info["action"] == "unreblog":
        await interactions.remove(ctx, "boost", account, work.id)
        return reply(await render(request, str(work.id)))
    await interactions.add(ctx, "boost", account, work.id)
    inner = await render(request, str(work.id))
    async with ctx.sessions() as session:
        row = await session.scalar(select(Boost).where(Boost.account_id == account.id, Boost.artwork_id == work.id))
        view = await view_for(request, session, accounts=[account])
    if row is None:
        raise not_found()
    return reply(entities_statuses.reblog(view, row.id, account, row.created_at, inner))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:bookmark|unbookmark}}")
@endpoint("write:bookmarks")
async def bookmark(request: web.Request) -> web.Response:
    work = await _artwork_for_action(request)
    await interactions.bookmark(request.app[CONTEXT_KEY], await me(request), work.id,
                                request.match_info["action"] == "bookmark")
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:pin|unpin}}")
@endpoint("write:accounts")
async def pin(request: web.Request) -> web.Response:
    account = await me(request)
    work = await _artwork_for_action(request)
    if work.account_id != account.id:
        raise unprocessable("You can only pin your own works")
    await artworks.set_pinned(request.app[CONTEXT_KEY], account, work.id, request.match_info["action"] == "pin")
    return reply(await render(request, str(work.id)))


@routes.post(rf"/api/v1/statuses/{ID}/{{action:mute|unmute}}")
@endpoint("write:mutes")
async def mute_conversation(request: web.Request) -> web.Response:
    await _artwork_for_action(request)
    raise unprocessable("Muting a conversation is not offered here; turn comment notifications into read ones instead")
