"""Content negotiation: one URL, two representations (HTML for people, ActivityStreams for servers).

The middleware runs before every web middleware, so an ActivityPub request for a shared URL never
reaches a page handler or the anonymous page cache (which keys on the Accept header). Also here: the
JSON responses every AP handler returns, the AP response cache, and the authorized-fetch hook.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cara_fed.cache import RESPONSE_TAGS
from cara_fed.context import CONTEXT_KEY
from cara_fed.db import is_unavailable
from cara_fed.http_headers import add_vary

log = logging.getLogger(__name__)

AP_MEDIA_TYPE = "application/activity+json"
AP_CONTENT_TYPE = "application/activity+json; charset=utf-8"
AP_HEADERS = {"Content-Type": AP_CONTENT_TYPE, "Vary": "Accept", "X-Content-Type-Options": "nosniff"}
_AP_TYPES = ("application/activity+json", "application/ld+json")
_HTML_TYPES = ("text/html", "application/xhtml+xml")

# (pattern, view) for shared URLs: the view answers when the request prefers ActivityStreams.
AP_VIEWS = web.AppKey("federation_ap_views", list)
# Set by the inbound edge: async (request) -> signer actor URI; raises (anything) when the signature is bad.
FETCH_VERIFIER = web.AppKey("federation_fetch_verifier", object)
SIGNER = web.RequestKey("federation_signer", str)

View = Callable[..., Awaitable[web.StreamResponse]]


# --- Accept ------------------------------------------------------------------------------------


def parse_accept(header: str) -> list[tuple[str, float]]:
    """[(type/subtype, q)] from an Accept header; malformed parts are skipped, q clamped to [0, 1]."""
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not re.fullmatch(r"[\w.+*-]+/[\w.+*-]+", media):
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    return ranges


def _quality(ranges: list[tuple[str, float]], media: str) -> tuple[float, int]:
    """(q, specificity) of the most specific range matching `media` (RFC 9110 §12.5.1)."""
    major = media.split("/")[0]
    best: tuple[int, float] | None = None
    for candidate, q in ranges:
        specificity = 2 if candidate == media else 1 if candidate == f"{major}/*" else 0 if candidate == "*/*" else -1
        if specificity >= 0 and (best is None or specificity > best[0]):
            best = (specificity, q)
    return (best[1], best[0]) if best else (0.0, -1)


def wants_activity_json(accept: str | None, *, default: bool) -> bool:
    """Does this Accept header prefer ActivityStreams to HTML? Ties go to an explicitly named type;
    `default` (the URL's own format) decides when nothing tells them apart (no header, `*/*`)."""
    if not accept:
        return default
    ranges = parse_accept(accept)
    ap = max(_quality(ranges, media) for media in _AP_TYPES)
    html = max(_quality(ranges, media) for media in _HTML_TYPES)
    if ap[0] <= 0 and html[0] <= 0:
        return default
    if ap[0] != html[0]:
        return ap[0] > html[0]
    if ap[1] != html[1]:
        return ap[1] > html[1]
    return True if ap[1] == 2 else default  # both named: only fediverse software names activity+json


# --- responses -------------------------------------------------------------------------------------


def ap_response(doc: dict[str, Any], status: int = 200) -> web.Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, headers=AP_HEADERS)


def ap_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status,
                             headers={"Vary": "Accept", "X-Content-Type-Options": "nosniff"})


def ap_redirect(location: str) -> web.Response:
    return web.Response(status=301, headers={"Location": location, "Vary": "Accept"})


async def cached(request: web.Request, build: Callable[[], Awaitable[web.Response]]) -> web.Response:
    """Serve AP documents from the shared page cache. The key starts with a newline, which no Accept header
    can contain, so it never meets a cached HTML page. `build` names what its document shows with
    `tag_response` (untagged documents are dropped by every write, cara_fed/cache.py)."""
    cache = request.app[CONTEXT_KEY].cache
    key = f"\nap|{request.path_qs}"
    page = cache.get(key)
    if page is not None:
        return web.Response(body=page.body, status=page.status, headers=dict(page.headers))
    began = cache.clock
    request[RESPONSE_TAGS] = set()
    response = await build()
    if response.status == 200 and isinstance(response.body, bytes):  # stored unless a write to it landed meanwhile
        cache.put(key, response.body, AP_MEDIA_TYPE, 200, AP_HEADERS, request[RESPONSE_TAGS], since=began)
    return response




async def require_signed_fetch(request: web.Request) -> web.Response | None:
    """Authorized-fetch hook: None to go on, or the 401 to send.

    Off (default): None. On: the request must carry an HTTP signature that the verifier the inbound edge
    registers under FETCH_VERIFIER accepts; the signer's actor URI is kept in request[SIGNER]. Without a
    verifier we fail closed, so a made-up Signature header can never stand in for a checked one.
    """
    if not request.app[CONTEXT_KEY].config.federation.authorized_fetch:
        return None
    headers = request.headers
    signed = "Signature" in headers or "Signature-Input" in headers \
        or headers.get("Authorization", "")[:10].lower() == "signature "
    if not signed:
        return ap_error(401, "This server requires signed fetches (authorized fetch); sign the GET request.")
    verifier = request.app.get(FETCH_VERIFIER)
    if verifier is None:
        return ap_error(401, "Signed fetches are required but cannot be verified yet.")
    try:
        request[SIGNER] = await verifier(request)  # type: ignore[operator]
    except Exception as exc:  # the verifier's refusal, whatever its type, is a 401, never a 500
        log.info("refused signed fetch of %s: %s", request.path, exc)
        return ap_error(401, "The request signature could not be verified.")
    return None


# --- middleware ----------------------------------------------------------------------------------


@web.middleware
async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
    views = request.app.get(AP_VIEWS)
    if not views or request.method not in ("GET", "HEAD"):
        return await handler(request)
    found = next(((view, m) for pattern, view in views if (m := pattern.fullmatch(request.path))), None)
    if found is None:
        return await handler(request)
    view, match = found
    if wants_activity_json(request.headers.get("Accept"), default=False):
        try:
            return await view(request, **match.groupdict())
        except web.HTTPException:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                log.warning("database unavailable for the ActivityPub view of %s: %s", request.path, exc)
                response = ap_error(503, "The server cannot reach its database right now; please retry.")
                response.headers["Retry-After"] = "30"
                return response
            log.exception("ActivityPub view failed on %s", request.path)
            return ap_error(500, "Something went wrong on our side.")
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        add_vary(exc.headers, "Accept")
        raise
    add_vary(response.headers, "Accept")
    return response
