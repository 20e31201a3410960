"""Lighter pages (issue 16 item 17): fingerprinted URLs for our CSS and JS, cached for a year (a new file is a
new URL); gzip for HTML, CSS, JS and JSON when the browser accepts it."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from functools import lru_cache
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

from web.conditional import add_vary

STATIC = Path(__file__).parent / "static"
TEXT_TYPES = {".css": "text/css", ".js": "text/javascript"}
COMPRESSIBLE = {"text/html", "text/css", "text/javascript", "application/javascript", "application/json",
                "application/activity+json", "application/ld+json", "image/svg+xml", "text/plain"}
MIN_BYTES = 1024  # below this gzip saves less than its own header costs
YEAR = "public, max-age=31536000, immutable"


@lru_cache(maxsize=64)
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """Template global: /static/style.css?v=<content hash>."""
    return f"/static/{name}?v={_fingerprint(name)}"


@lru_cache(maxsize=64)
def _load(name: str) -> tuple[bytes, bytes, str]:
    raw = (STATIC / name).read_bytes()
    return raw, gzip.compress(raw, 9, mtime=0), _fingerprint(name)


async def text_asset(request: web.Request) -> web.Response:
    """Our CSS and JS, served from memory with a ready-made gzip copy (FileResponse cannot compress)."""
    name = request.match_info["name"]
    if "/" in name or name.startswith(".") or not (STATIC / name).is_file():
        raise web.HTTPNotFound()
    raw, packed, version = _load(name)
    fresh = request.query.get("v") == version
    headers = {"Cache-Control": YEAR if fresh else "public, max-age=300", "ETag": f'"{version}"',
               "Vary": "Accept-Encoding"}
    if request.headers.get("If-None-Match") == f'"{version}"':
        return web.Response(status=304, headers=headers)
    content_type = TEXT_TYPES[Path(name).suffix]
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=packed, content_type=content_type, charset="utf-8", headers=headers)
    return web.Response(body=raw, content_type=content_type, charset="utf-8", headers=headers)


# Pages and API answers are gzipped here, on the event loop, at level 1: 44 us for a 40 KB home timeline (13 %
# bigger than level 6's 190 us). aiohttp's own compression sends any body over 4 KB to a thread at level 6, and
# that hop cost about 1.4 ms of CPU per timeline under load (6.6 -> 5.4 ms per request). Bodies past INLINE_MAX
# (archives, big exports) still go to aiohttp's thread so that no request holds the loop for long.
GZIP_LEVEL = 1
INLINE_MAX = 512 * 1024


@web.middleware
async def compress(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    body = response.body if type(response) is web.Response else None
    if (isinstance(body, bytes) and len(body) >= MIN_BYTES and response.content_type in COMPRESSIBLE
            and "Content-Encoding" not in response.headers
            and "gzip" in request.headers.get("Accept-Encoding", "")):
        if len(body) <= INLINE_MAX:
            response.body = zlib.compress(body, GZIP_LEVEL, wbits=31)  # wbits 31: the gzip container
            response.headers["Content-Encoding"] = "gzip"
        else:
            response.enable_compression(web.ContentCoding.gzip)
        add_vary(response, "Accept-Encoding")
    return response


def setup(app: web.Application) -> None:
    app.router.add_get(r"/static/{name:[A-Za-z0-9_.-]+\.(?:css|js)}", text_asset)
