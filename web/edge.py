"""Refuse NUL bytes at the edge: in the path, the query string and form fields.

Why: no name, id or text of ours contains NUL, PostgreSQL text cannot store one, and half the stack treats it
as a terminator. A clear 400 here is better than a 500 (or a silently different value) further in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from cara_fed import urls

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
NUL = "\x00"
NOT_PAGE_FORMS = ("/api/", "/oauth/", "/inbox", "/users/")  # the paths the CSRF middleware leaves alone


def _form_has_nul(form: object) -> bool:
    for key, value in form.items():  # type: ignore[attr-defined]
        if NUL in key:
            return True
        if isinstance(value, str) and NUL in value:
            return True
        if isinstance(value, web.FileField) and NUL in (value.filename or ""):
            return True
    return False


def _refuse(where: str) -> web.HTTPBadRequest:
    message = f"The request's {where} contains a NUL byte (\\0), which no field here accepts."
    return web.HTTPBadRequest(text=message)


@web.middleware
async def refuse_nul(request: web.Request, handler: Handler) -> web.StreamResponse:
    if NUL in request.path:
        raise _refuse("address")
    if any(NUL in key or NUL in value for key, value in request.query.items()):
        raise _refuse("query string")
    if request.method in ("POST", "PUT", "PATCH") and request.content_type in FORMS \
            and not request.path.startswith(NOT_PAGE_FORMS):
        # Page forms only: the CSRF check has read (and cached) them already, so nothing extra is read before
        # authentication. The API and the inbox read their own bodies; NUL there is stripped at the database.
        if _form_has_nul(await request.post()):
            raise _refuse("form")
    return await handler(request)


# Paths that only machines read (ActivityPub, WebFinger, NodeInfo, the client API): they get JSON errors.
MACHINE_PATHS = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo", *urls.FEDERATION_PATHS)


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith(MACHINE_PATHS) or ("json" in accept and "text/html" not in accept)


def unavailable(request: web.Request, error: BaseException) -> web.Response:
    """The database is down or unreachable: a 503 with Retry-After (JSON for machines, a page for people),
    logged as one line: an outage is not a bug with a traceback to read."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    headers = {"Retry-After": "30"}
    if wants_json(request):
        return web.json_response({"error": "The server cannot reach its database right now; please retry."},
                                 status=503, headers=headers)
    # The error page is rendered without a database (no session lookups, no counts).
    body = ("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>503 · Temporarily unavailable</title>"
            "<h1>Temporarily unavailable</h1><p>This server cannot reach its database right now. "
            "Please try again in a minute.</p></html>")
    return web.Response(text=body, status=503, content_type="text/html", headers=headers)
