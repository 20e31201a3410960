"""Serving public derivatives. Originals have no route at all.

Every derivative of a NoAI work (local, or our cached copy of a remote one) carries `X-Robots-Tag` and
`tdm-reservation` (web/noai.py adds `tdm-policy`); listed AI crawlers get 403 and every client address is
rate limited (web/noai.py holds both).
"""

from __future__ import annotations

import re
import time

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative
from web import noai
from web.keys import CTX
from web.render import NOAI_ROBOTS

routes = web.RouteTableDef()
CONTENT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}
KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|webp|png)$")
# key -> (page-cache generation, monotonic expiry, NoAI?). The generation changes on every committed write in
# this process, so an artist's NoAI switch shows at once here; the TTL bounds it across web processes.
_NOAI_TTL = 60.0
_NOAI_MAX = 20_000
NoaiCache = dict[str, tuple[int, float, bool]]


async def _lookup_noai(ctx: Context, key: str) -> bool:
    """The NoAI choice that covers a derivative: its artwork's, else (avatar, banner) its owner's default."""
    query = (select(Artwork.noai, Account.noai_default)
             .select_from(MediaDerivative)
             .join(MediaAsset, MediaAsset.id == MediaDerivative.asset_id)
             .join(Account, Account.id == MediaAsset.account_id)
             .outerjoin(ArtworkImage, ArtworkImage.asset_id == MediaAsset.id)
             .outerjoin(Artwork, Artwork.id == ArtworkImage.artwork_id)
             .where(MediaDerivative.key == key).limit(1))
    async with ctx.sessions() as session:
        row = (await session.execute(query)).first()
    if row is None:
        return True  # a file we no longer know (e.g. deleted row): keep the reservation, never drop it silently
    work_noai, account_default = row
    return bool(work_noai if work_noai is not None else account_default)


async def is_noai(app: web.Application, key: str) -> bool:
    ctx = app[CTX]
    cache: NoaiCache = app[noai.NOAI_CACHE]
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] == ctx.cache.generation and hit[1] > now:
        return hit[2]
    value = await _lookup_noai(ctx, key)
    if len(cache) >= _NOAI_MAX:
        cache.clear()  # bounded; rows are cheap to look up again
    cache[key] = (ctx.cache.generation, now + _NOAI_TTL, value)
    return value


@routes.get(r"/media/{key:[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp|png)}", name="media")
async def media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if not KEY_RE.match(key):
        raise web.HTTPNotFound()
    refused = noai.refuse_media(request)
    if refused is not None:
        return refused
    path = request.app[CTX].storage.public_path(key)
    if not path.is_file():
        raise web.HTTPNotFound()
    # Keys are random and content never changes under a key: cache for a year.
    # The type from the key, not mimetypes: some systems' tables lack .webp (it would go out as octet-stream).
    headers = {"Cache-Control": "public, max-age=31536000, immutable",
               "Content-Type": CONTENT_TYPES[key.rsplit(".", 1)[1]]}
    if await is_noai(request.app, key):
        headers.update({"X-Robots-Tag": NOAI_ROBOTS, "tdm-reservation": "1"})
    return web.FileResponse(path, headers=headers)
