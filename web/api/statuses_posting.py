"""Posting, editing and deleting statuses: POST, PUT and DELETE /api/v1/statuses. A post with images
becomes an artwork (statuses_input.py), a reply becomes a comment; text-only posts and direct messages are
refused (422): a work needs at least one image."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.numbers import parse_id
from cara_fed.services import artworks, client_state, comments
from cara_fed.services.artworks import MAX_TEXT
from web.api import entities, entities_statuses
from web.api.base import ApiError, Params, endpoint, me, params, reply, unprocessable
from web.api.statuses_input import artwork_input
from web.api.statuses_load import ID, load, render

routes = web.RouteTableDef()


def _media_ids(p: Params) -> list[int]:
    ids = []
    for raw in p.list("media_ids"):
        number = parse_id(raw)
        if number is None:
            raise unprocessable(f"Media {str(raw)[:30]} is not one of your uploads")
        ids.append(number)
    return ids


def _status_text(p: Params) -> str:
    text = p.text("status")
    if len(text) > MAX_TEXT:
        raise unprocessable(f"Text character limit of {MAX_TEXT} exceeded")
    return text


@routes.post("/api/v1/statuses")
@endpoint("write:statuses")
async def create(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CONTEXT_KEY]
    p = await params(request)
    text = _status_text(p)
    if p.has("poll") or any(k.startswith("poll[") for k in p.values):
        raise unprocessable("Polls are not offered here")
    if p.text("scheduled_at"):
        raise unprocessable("Scheduled posts are not offered here")
    media_ids = _media_ids(p)
    reply_to = p.text("in_reply_to_id")

    async def make() -> str:
        if reply_to:
            async with ctx.sessions() as session:
                kind, work, parent = await load(request, session, reply_to)
            if media_ids:
                raise unprocessable("Comments cannot carry images; post the images as a new work")
            comment = await comments.post(ctx, account, work.id, text, parent.id if parent else None)
            return f"comment:{comment.id}"
        if not media_ids:
            raise unprocessable("A work needs at least one image: upload it with POST /api/v2/media and pass "
                                "media_ids[]")
        work = await artworks.create_from_media(ctx, account, artwork_input(p, text, account), media_ids)
        return f"artwork:{work.id}"

    made = await client_state.once(ctx, account, request.headers.get("Idempotency-Key", ""), make)
    kind, number = made.split(":")
    raw_id = entities.comment_status_id(int(number)) if kind == "comment" else number
    return reply(await render(request, raw_id))


@routes.put(rf"/api/v1/statuses/{ID}")
@endpoint("write:statuses")
async def edit(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CONTEXT_KEY]
    p = await params(request)
    text = _status_text(p)
    async with ctx.sessions() as session:
        kind, work, comment = await load(request, session, request.match_info["status_id"])
    if comment is not None and comment.account_id == account.id:
        raise unprocessable("Comments cannot be edited; delete it and comment again")
    if comment is not None or work.account_id != account.id:
        raise ApiError(403, "This action is not allowed")
    by_asset = {image.asset_id: image for image in work.images}
    if p.has("media_ids") and set(_media_ids(p)) != set(by_asset):
        raise unprocessable("An artwork's images cannot be changed through an edit; delete it and post again")
    alts: dict[int, str] = {}
    for attributes in p.indexed("media_attributes"):
        asset_id = attributes.text("id")
        number = parse_id(asset_id)
        if number is None or number not in by_asset:
            raise unprocessable(f"Media {asset_id[:20]} is not part of this post")
        if attributes.has("description"):
            alts[by_asset[number].id] = attributes.text("description")
    await artworks.update_artwork(ctx, account, work.id, artwork_input(p, text, account, current=work), alts)
    return reply(await render(request, str(work.id)))


@routes.delete(rf"/api/v1/statuses/{ID}")
@endpoint("write:statuses")
async def delete(request: web.Request) -> web.Response:
    account = await me(request)
    ctx = request.app[CONTEXT_KEY]
    raw = request.match_info["status_id"]
    data = await render(request, raw)
    async with ctx.sessions() as session:
        kind, work, comment = await load(request, session, raw)
    if comment is not None:
        await comments.delete(ctx, account, comment.id)
        data["text"] = comment.content
    else:
        if work.account_id != account.id:
            raise ApiError(403, "This action is not allowed")
        data["text"] = entities_statuses.source(work)["text"]
        await artworks.delete_artwork(ctx, account, work.id)
    return reply(data)
