"""Media uploads for posts. The original is kept privately and the protection pipeline (sanitize, detect,
cloak, derivatives, marks) runs in the worker: POST /api/v2/media answers 202 with `url: null` until then, and
GET /api/v1/media/:id answers 206 while processing, 200 when the public derivatives exist. `description` is the
image's alt text. Only the uploader ever sees an image that is not published in a work."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.services import unattached_media
from cara_fed.services.media import Upload
from web.api import entities, entities_media
from web.api.base import ApiError, Params, endpoint, int_id, me, not_found, params, reply, unprocessable
from web.limits import accepts_uploads

routes = web.RouteTableDef()


def _focus(p: Params) -> tuple[float, float] | None:
    raw = p.text("focus")
    if not raw:
        return None
    try:
        x, y = (float(part) for part in raw.split(","))
    except ValueError:
        raise unprocessable("focus must be two numbers, like 0.2,-0.5") from None
    return x, y


def _json(request: web.Request, asset) -> dict:  # type: ignore[no-untyped-def]
    return entities_media.media(entities.View.of(request.app[CONTEXT_KEY].config), asset, asset.description)


@routes.post("/api/v1/media")
@routes.post("/api/v2/media")
@accepts_uploads
@endpoint("write:media")
async def upload(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    file = p.get("file")
    if not isinstance(file, web.FileField):
        raise unprocessable("Send the image as the multipart field `file`")
    asset = await unattached_media.upload_unattached(request.app[CONTEXT_KEY], account,
                                                     Upload(file.file.read(), file.filename or ""),
                                                     p.text("description"), _focus(p))
    fresh = await unattached_media.own_asset(request.app[CONTEXT_KEY], account, asset.id) or asset
    if fresh.state == "rejected":
        raise unprocessable(fresh.error_message or "The image could not be processed")
    processing = fresh.state != "ready"
    status = 202 if processing and request.path.startswith("/api/v2/") else 200
    return reply(_json(request, fresh), status=status)


@routes.get(r"/api/v1/media/{media_id:\d+}")
@endpoint("write:media")
async def show(request: web.Request) -> web.Response:
    asset = await unattached_media.own_asset(request.app[CONTEXT_KEY], await me(request),
                                             int_id(request.match_info["media_id"]))
    if asset is None:
        raise not_found()
    if asset.state == "rejected":
        raise ApiError(422, f"Validation failed: {asset.error_message or 'the image could not be processed'}")
    return reply(_json(request, asset), status=200 if asset.state == "ready" else 206)


@routes.put(r"/api/v1/media/{media_id:\d+}")
@endpoint("write:media")
async def update(request: web.Request) -> web.Response:
    account = await me(request)
    p = await params(request)
    asset = await unattached_media.describe(request.app[CONTEXT_KEY], account, int_id(request.match_info["media_id"]),
                                            p.text("description") if p.has("description") else None, _focus(p))
    fresh = await unattached_media.own_asset(request.app[CONTEXT_KEY], account, asset.id) or asset
    return reply(_json(request, fresh))
