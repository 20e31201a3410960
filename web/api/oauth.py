"""OAuth 2 over HTTP: app registration, the login + consent page, the token and revocation endpoints, the
server metadata (RFC 8414) and the "Authorized apps" settings page."""

from __future__ import annotations

import base64
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web
from authlib.oauth2.rfc6749 import OAuth2Error

from cara_fed import json_limits
from cara_fed.context import CONTEXT_KEY
from cara_fed.observe import client_address
from cara_fed.services import oauth
from web import forms
from web.api import entities_oauth
from web.api.base import ApiError, bearer, endpoint, params, reply
from web.api.oauth_server import Request, Server
from web.auth import require_login
from web.keys import ACCOUNT, LOGIN
from web.render import render

routes = web.RouteTableDef()
SERVER = web.AppKey("oauth_server", Server)
# What each scope lets an app do, in the consent page's words.
SCOPE_WORDS = {
    "read": "See everything in your account: works, follows, notifications, bookmarks",
    "write": "Post, edit and delete works and comments, like, boost, follow, and change your profile",
    "follow": "Follow, block and mute accounts, and see those lists",
    "push": "Receive push notifications",
    "profile": "See your basic profile (name and picture) only",
}


def _describe(scope: str) -> str:
    if scope in SCOPE_WORDS:
        return SCOPE_WORDS[scope]
    mode, _, what = scope.partition(":")
    if mode == "admin":
        return "Moderation tools (not offered here: grants nothing)"
    return f"{'See' if mode == 'read' else 'Change'} your {what.replace('_', ' ')}"


def _where_back(redirect_uri: str) -> str:
    """Where the answer goes, in words: a web site's host, or the app itself for its own scheme or copy-paste."""
    parts = urlsplit(redirect_uri)
    if redirect_uri == oauth.OOB:
        return "a page showing a code to paste into the app"
    if parts.scheme in ("http", "https"):
        return parts.netloc
    return f"the app ({redirect_uri[:80]})"


def _request(request: web.Request, pairs: list[tuple[str, str]]) -> Request:
    ctx = request.app[CONTEXT_KEY]
    # Authlib refuses plain-http URLs; plain http is only ever a development setting here ([server] scheme).
    uri = "https://" + ctx.config.server.domain + request.path_qs
    headers = {k: v for k, v in request.headers.items()}
    made = Request(request.method, uri, headers, pairs)
    made.client_address = client_address(request)
    return made


def _oauth_json(status: int, body: object, headers: list[tuple[str, str]]) -> web.Response:
    response = reply(body if body else {}, status=status)
    response.headers.update({k: v for k, v in headers if k.lower() != "content-type"})
    response.headers["Cache-Control"] = "no-store"
    return response


async def _body_pairs(request: web.Request) -> list[tuple[str, str]]:
    """Form or JSON bodies alike; unknown fields ride along and are ignored by the grants."""
    pairs = list(request.query.items())
    if request.content_type == "application/json":
        try:
            body = await request.json(loads=json_limits.loads)
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        for key, value in body.items():
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                pairs.append((key, str(value)))
            elif isinstance(value, list):
                pairs.append((key, " ".join(str(v) for v in value)))
    else:
        form = await request.post()
        pairs += [(k, v) for k, v in form.items() if isinstance(v, str)]
    return pairs


# --- app registration ----------------------------------------------------------------------------


@routes.post("/api/v1/apps")
async def create_app(request: web.Request) -> web.Response:
    p = await params(request)
    redirect = p.list("redirect_uris") if isinstance(p.get("redirect_uris"), list) or p.has("redirect_uris[]") \
        else p.text("redirect_uris") or p.text("redirect_uri")
    app, secret = await oauth.create_app(request.app[CONTEXT_KEY], p.text("client_name"), redirect,
                                         p.text("scopes") or None, p.text("website") or None)
    return reply(entities_oauth.application(app, secret=secret))


@routes.get("/api/v1/apps/verify_credentials")
@endpoint(None, user=False)
async def verify_app(request: web.Request) -> web.Response:
    found = await bearer(request)
    assert found is not None
    return reply(entities_oauth.application(found.app))


# --- authorization: login, then consent ----------------------------------------------------------


def _consent_error(request: web.Request, error: OAuth2Error) -> web.Response:
    message = error.description or error.error.replace("_", " ")
    return render(request, "message.html", {"title": "This app's sign-in link is not valid",
                                            "message": f"{message} ({error.error}). Go back to the app and try "
                                                       "again, or tell its developer."}, status=400)


@routes.get("/oauth/authorize")
async def authorize_form(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    account = request[ACCOUNT]
    if account is None:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    pairs = list(request.query.items())
    try:
        grant = await server.call(server.get_consent_grant, _request(request, pairs), account)
    except OAuth2Error as error:
        return _consent_error(request, error)
    app = grant.client.app
    scopes = oauth.scope_list(grant.request.scope)
    response = render(request, "oauth_authorize.html", {
        "app": app, "scopes": [(s, _describe(s)) for s in scopes], "fields": pairs,
        "redirect_to": _where_back(grant.redirect_uri or "")})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/oauth/authorize")
async def authorize(request: web.Request) -> web.Response:
    """The consent form's answer. /oauth/ skips the CSRF middleware (token requests carry no cookie), so this
    cookie-authenticated form checks the session's CSRF token itself."""
    account = require_login(request)
    form = await request.post()
    login = request[LOGIN]
    sent = str(form.get("csrf_token", ""))
    if login is None or not sent or not hmac.compare_digest(sent, login.csrf_token):
        raise web.HTTPForbidden(text="This form has expired or did not come from this site. Go back to the app "
                                     "and start again.")
    approve = form.get("decision") == "approve"
    pairs = [(k, v) for k, v in form.items() if isinstance(v, str) and k not in ("csrf_token", "decision")]
    server = request.app[SERVER]
    oauth_request = _request(request, pairs)
    try:
        grant = await server.call(server.get_consent_grant, oauth_request, account)
    except OAuth2Error as error:
        return _consent_error(request, error)
    status, _body, headers = await server.call(server.create_authorization_response, oauth_request,
                                               account if approve else None, grant)
    location = dict(headers).get("Location", "")
    if status != 302 or not location:
        return render(request, "message.html", {"title": "Something went wrong",
                                                "message": "The authorization could not be completed."}, status=400)
    if location.startswith(oauth.OOB):
        query = dict(parse_qsl(urlsplit(location).query))
        return render(request, "oauth_code.html", {"app": grant.client.app, "code": query.get("code", "")},
                      headers={"Cache-Control": "no-store"})
    raise web.HTTPFound(location)


# --- tokens --------------------------------------------------------------------------------------


def _basic_credentials(request: web.Request) -> None:
    """Reject a malformed Basic header here with a clear message (Authlib would treat it as absent)."""
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            base64.b64decode(auth[6:], validate=True)
        except ValueError:
            raise ApiError(401, "The client credentials are not valid Basic authentication") from None


@routes.post("/oauth/token")
async def token(request: web.Request) -> web.Response:
    _basic_credentials(request)
    server = request.app[SERVER]
    pairs = await _body_pairs(request)
    status, body, headers = await server.call(server.create_token_response, _request(request, pairs))
    return _oauth_json(status, body, headers)


@routes.post("/oauth/revoke")
async def revoke(request: web.Request) -> web.Response:
    _basic_credentials(request)
    server = request.app[SERVER]
    pairs = await _body_pairs(request)
    result = await server.call(server.create_endpoint_response, "revocation", _request(request, pairs))
    status, body, headers = result
    return _oauth_json(status, body, headers)


@routes.get("/.well-known/oauth-authorization-server")
async def metadata(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    return reply(entities_oauth.oauth_metadata(ctx, password_grant=ctx.config.api.password_grant),
                 headers={"Cache-Control": "public, max-age=3600"})


# --- Settings: authorized apps -------------------------------------------------------------------


@routes.get("/settings/apps", name="authorized_apps")
async def authorized_apps(request: web.Request) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        apps = await oauth.authorized_apps(session, account)
    return render(request, "settings_apps.html", {"apps": [(a, [(s, _describe(s)) for s in a.scopes]) for a in apps],
                                                  "revoked": request.query.get("revoked", "")})


@routes.post(r"/settings/apps/{app_id:\d{1,9}}/revoke", name="revoke_app")
async def revoke_app(request: web.Request) -> web.Response:
    account = require_login(request)
    await oauth.revoke_app(request.app[CONTEXT_KEY], account, forms.path_id(request, "app_id"))
    raise web.HTTPSeeOther("/settings/apps?revoked=1")
