"""Serving public derivatives. Originals have no route at all."""

from __future__ import annotations

import re

from aiohttp import web

from web.keys import CTX
from web.render import NOAI_ROBOTS

routes = web.RouteTableDef()
KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|webp|png)$")


@routes.get(r"/media/{key:[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp|png)}", name="media")
async def media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if not KEY_RE.match(key):
        raise web.HTTPNotFound()
    path = request.app[CTX].storage.public_path(key)
    if not path.is_file():
        raise web.HTTPNotFound()
    # Keys are random and content never changes under a key: cache for a year.
    return web.FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                           "X-Robots-Tag": NOAI_ROBOTS, "tdm-reservation": "1"})
