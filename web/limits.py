"""Request body caps per route, decided before anything reads the body (issue 12, defect 4).

The app-wide `client_max_size` must allow a full multi-image upload (hundreds of MiB), but only signed-in
people upload: an anonymous POST /login must never make us buffer more than a small form. Every unsafe request
gets a cap from who sent it and which route it hits: `[security] form_body_kb` for visitors who are not signed
in, `signed_in_body_kb` for signed-in forms and API calls, and the app's upload limit only for routes marked
`@accepts_uploads` and only when signed in (their files are spooled to disk by aiohttp, never held whole).
A declared Content-Length over the cap answers 413 at once; a chunked body is cut off at the cap while read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from web.keys import ACCOUNT

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
F = TypeVar("F", bound=Callable[..., object])
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
UPLOADS = "cara_accepts_uploads"
API_PATHS = ("/api/", "/oauth/token", "/oauth/revoke")  # bodies of these are capped by the API middleware
OWN_CAP = ("/inbox",)  # federation's inboxes stream the body under their own 1 MiB cap


def accepts_uploads(handler: F) -> F:
    """Mark a route whose signed-in callers may send files up to the app's upload limit."""
    setattr(handler, UPLOADS, True)
    return handler


def body_cap(request: web.Request, signed_in: bool) -> int:
    """Bytes this request may send."""
    security = request.app[CONTEXT_KEY].config.security
    if not signed_in:
        return security.form_body_kb * 1024
    if getattr(request.match_info.handler, UPLOADS, False):
        return max(request.client_max_size, security.signed_in_body_kb * 1024)
    return security.signed_in_body_kb * 1024


def too_large_message(cap: int) -> str:
    size = f"{cap // (1024 * 1024)} MiB" if cap >= 1024 * 1024 else f"{cap // 1024} KiB"
    return f"This request is too large: the limit here is {size}."


def capped(request: web.Request, signed_in: bool) -> web.Request:
    """The request with its body limited to its cap (a clone when the cap differs); raises 413 when the declared
    length is already over it. Bodies of safe methods are left alone (aiohttp never reads them for us)."""
    if request.method not in UNSAFE or not request.body_exists:
        return request
    cap = body_cap(request, signed_in)
    if request.content_length is not None and request.content_length > cap:
        raise web.HTTPRequestEntityTooLarge(max_size=cap, actual_size=request.content_length,
                                            text=too_large_message(cap))
    if cap == request.client_max_size:
        return request
    # aiohttp enforces client_max_size while reading (read(), post(), json(), multipart files), so a chunked
    # body with no Content-Length is cut off at the cap instead of being buffered whole.
    return request.clone(client_max_size=cap)


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The web pages' cap (signed in = a login session cookie); API paths are capped in the API middleware."""
    if request.path.startswith(API_PATHS) or request.path.endswith(OWN_CAP):
        return await handler(request)
    limited = capped(request, request.get(ACCOUNT) is not None)
    try:
        return await handler(limited)
    except web.HTTPRequestEntityTooLarge as exc:
        raise web.HTTPRequestEntityTooLarge(max_size=limited.client_max_size, actual_size=0,
                                            text=too_large_message(limited.client_max_size)) from exc
