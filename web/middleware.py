"""Request middleware: errors as pages, the login session, CSRF, security and NoAI headers, page cache."""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.db import is_unavailable
from cara_fed.errors import NotFound, Overloaded, PermissionDenied, RateLimited, ValidationError
from cara_fed.services import accounts
from web import edge
from web.conditional import add_vary
from web.keys import ACCOUNT, LOGIN, SESSION_COOKIE, UNREAD
from web.render import render

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# Requests that never render the nav, so they skip the unread-notifications count.
NO_BADGE_PATHS = (urls.MEDIA, "/static/", "/.well-known/", "/robots.txt", "/ai.txt", "/api/", "/nodeinfo",
                  *urls.FEDERATION_PATHS)
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


@functools.cache
def csp_for(public_base_url: str) -> str:
    """CSP, with img-src naming the store/CDN's origin when public media is linked there ([storage])."""
    if not public_base_url:
        return CSP
    parts = urlsplit(public_base_url)
    return CSP.replace("img-src 'self'", f"img-src 'self' {parts.scheme}://{parts.netloc}")


def request_csp(request: web.Request) -> str:
    return csp_for(request.app[CONTEXT_KEY].config.storage.public_base_url)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a clear page with the right status; nothing leaks a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status in (404, 403, 400, 413) and exc.content_type != "application/json" \
                and not request.path.startswith(("/api/", urls.MEDIA)):
            message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else ""
            return render(request, "error.html", {"status": exc.status, "message": message or exc.reason},
                          status=exc.status)
        raise
    except NotFound as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, status=404)
    except PermissionDenied as exc:
        return render(request, "error.html", {"status": 403, "message": str(exc)}, status=403)
    except RateLimited as exc:
        return render(request, "error.html", {"status": 429, "message": str(exc)}, status=429,
                      headers={"Retry-After": str(exc.retry_after)})
    except Overloaded as exc:
        return render(request, "error.html", {"status": 503, "message": str(exc)}, status=503,
                      headers={"Retry-After": str(exc.retry_after)})
    except ValidationError as exc:
        return render(request, "error.html", {"status": 400, "message": "; ".join(exc.errors.values())},
                      status=400)
    except Exception as exc:
        if is_unavailable(exc):
            return edge.unavailable(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(request, "error.html", {"status": 500, "message": "Something went wrong on our side. "
                                              "It has been logged; please try again."}, status=500)


@web.middleware
async def login_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[ACCOUNT] = None
    request[LOGIN] = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        wants_badge = request.method == "GET" and not request.path.startswith(NO_BADGE_PATHS)
        found = await accounts.resolve_session(request.app[CONTEXT_KEY], token, with_unread=wants_badge)
        if found:
            request[LOGIN], request[ACCOUNT], unread = found
            if wants_badge:
                request[UNREAD] = unread
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Cookie-authenticated form posts must carry the session's token (double-checked in constant time).
    Anonymous forms (sign-up, login) are protected by a pre-session token cookie instead."""
    # /unsubscribe/: a mailed one-click link (RFC 8058) whose signature is its authority; mail clients POST it.
    if request.method in UNSAFE and not request.path.startswith(("/api/", "/oauth/", urls.SHARED_INBOX, urls.ACTORS,
                                                                 "/unsubscribe/")):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # Reading the form here caches it on the request for the handler.
            form = await request.post()
            sent = str(form.get("csrf_token", ""))
        login = request.get(LOGIN)
        expected = login.csrf_token if login else request.cookies.get("cara_csrf", "")
        if not expected or not sent or not hmac.compare_digest(sent, expected):
            raise web.HTTPForbidden(text="This form has expired or did not come from this site (missing or wrong "
                                         "CSRF token). Reload the page and try again.")
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", request_csp(request))
        response.headers.setdefault("X-Frame-Options", "DENY")
        if SESSION_COOKIE in request.cookies:
            # A signed-in page names its reader (and holds CSRF tokens): no shared cache may keep it (an nginx
            # proxy_cache_valid would otherwise serve it to strangers); the browser revalidates with the ETag.
            response.headers.setdefault("Cache-Control", "private, no-cache")
            add_vary(response, "Cookie")
    return response
