"""Sign-up, log-in and log-out pages."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from aiohttp import web

from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import Overloaded, RateLimited, ValidationError
from cara_fed.observe import client_address
from cara_fed.services import accounts, login_throttle, rules, two_factor
from web.keys import ACCOUNT, LOGIN, SESSION_COOKIE
from web.links import safe_next
from web.render import render

routes = web.RouteTableDef()
ANON_CSRF = "cara_csrf"
KNOWN_DAYS = 365
PENDING_COOKIE = "cara_2fa"  # password checked, two-factor code due (services/two_factor.py)


def render_form(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    """Anonymous forms use a double-submit token: the same random value in a cookie and a hidden field. A signed-in
    visitor (a mailed link opened in a signed-in browser) gets the session's token, which is what the CSRF
    middleware then expects."""
    login = request.get(LOGIN)
    if login is not None:
        response = render(request, template, {**context, "csrf_token": login.csrf_token}, status=status)
        response.headers["Cache-Control"] = "no-store"
        return response
    token = request.cookies.get(ANON_CSRF) or secrets.token_urlsafe(24)
    response = render(request, template, {**context, "csrf_token": token}, status=status)
    response.set_cookie(ANON_CSRF, token, httponly=True, samesite="Lax", secure=_secure(request), path="/")
    response.headers["Cache-Control"] = "no-store"
    return response


def _secure(request: web.Request) -> bool:
    return request.app[CONTEXT_KEY].config.server.scheme == "https"


async def _log_in(request: web.Request, account, target: str) -> web.Response:  # type: ignore[no-untyped-def]
    ctx = request.app[CONTEXT_KEY]
    token, _row = await accounts.start_session(ctx, account)
    response = web.HTTPSeeOther(safe_next(target))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=_secure(request), path="/",
                        max_age=ctx.config.security.session_days * 86400)
    # This browser knows the password: it is exempt from the per-account back-off (login_throttle).
    response.set_cookie(login_throttle.KNOWN_COOKIE, login_throttle.known_cookie(account), httponly=True,
                        samesite="Lax", secure=_secure(request), path="/", max_age=KNOWN_DAYS * 86400)
    response.del_cookie(ANON_CSRF, path="/")
    raise response


@routes.get("/signup", name="signup")
async def signup_form(request: web.Request) -> web.Response:
    if request[ACCOUNT] is not None:
        raise web.HTTPSeeOther("/")
    form = {"invite": request.query.get("invite", ""),  # ?kind=studio: the job board's "Join as a studio"
            "kind": "studio" if request.query.get("kind") == "studio" else "artist"}
    return await _signup_page(request, form, {})


async def _signup_page(request: web.Request, form: dict, errors: dict, status: int = 200) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        listed = await rules.listed(session)
    return render_form(request, "signup.html", {"mode": request.app[CONTEXT_KEY].config.instance.registration,
                                                "form": form,
                                                "errors": errors, "rules": listed}, status=status)


@routes.post("/signup")
async def signup(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    form = await request.post()
    fields = {k: str(form.get(k, "")) for k in ("username", "email", "display_name", "kind", "invite", "note")}
    fields["agree_rules"] = str(form.get("agree_rules", ""))
    try:
        async with ctx.sessions() as session:
            if await rules.listed(session) and fields["agree_rules"] != "on":
                raise ValidationError({"agree_rules": "Read the rules and tick the box to agree to them."})
        account = await accounts.sign_up(
            ctx, fields["username"], fields["email"], str(form.get("password", "")),
            kind=fields["kind"] or "artist", display_name=fields["display_name"],
            invite_code=fields["invite"] or None, request_note=fields["note"])
    except ValidationError as exc:
        return await _signup_page(request, fields, exc.errors, status=400)
    except Overloaded as exc:
        return _busy(await _signup_page(request, fields, {"form": str(exc)}, status=503), exc)
    if account.status == "pending":
        return render(request, "message.html", {"title": "Thanks for signing up", "message":
                      "A moderator will review your request; you can log in once it is approved."})
    return await _log_in(request, account, urls.profile(account.username))


@routes.get("/login", name="login")
async def login_form(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next"), "")
    return render_form(request, "login.html", {"form": {"next": target}, "errors": {}})


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    # Without a `next`, land on the feed: what a signed-in person came for (issue 16 item 15).
    login_name, target = str(form.get("login", "")), str(form.get("next", "") or "/feed")
    try:
        account = await accounts.authenticate(request.app[CONTEXT_KEY], login_name, str(form.get("password", "")),
                                              client_address(request),
                                              request.cookies.get(login_throttle.KNOWN_COOKIE))
    except ValidationError as exc:
        return render_form(request, "login.html", {"form": {"login": login_name, "next": target},
                                                   "errors": exc.errors}, status=401)
    except RateLimited as exc:
        response = render_form(request, "login.html", {"form": {"login": login_name, "next": target},
                                                       "errors": {"form": str(exc)}}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except Overloaded as exc:  # the hashing pool is full: say so at once rather than queue (cara_fed/hashing.py)
        return _busy(render_form(request, "login.html", {"form": {"login": login_name, "next": target},
                                                         "errors": {"form": str(exc)}}, status=503), exc)
    if two_factor.is_enabled(account):
        return code_step(request, account, target)
    return await _log_in(request, account, target)


def code_step(request: web.Request, account, target: str, errors: dict | None = None,  # type: ignore[no-untyped-def]
              status: int = 200) -> web.Response:
    """Password accepted, code still due: a short-lived signed cookie (not a session) and the code form."""
    response = render_form(request, "login_code.html", {"form": {"next": target}, "errors": errors or {}},
                           status=status)
    response.set_cookie(PENDING_COOKIE, two_factor.pending_login(account), httponly=True, samesite="Lax",
                        secure=_secure(request), path="/login", max_age=two_factor.PENDING_SECONDS)
    return response


@routes.post("/login/code", name="login_code")
async def login_code(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    form = await request.post()
    target = str(form.get("next", "") or "/feed")
    account = await two_factor.pending_account(ctx, request.cookies.get(PENDING_COOKIE))
    if account is None:
        return render_form(request, "login.html", {"form": {"next": target}, "errors": {
            "form": "That took too long (or the sign-in was already finished); log in again."}}, status=401)
    try:
        await two_factor.check_code(ctx, account.id, str(form.get("code", "")))
    except ValidationError as exc:
        return code_step(request, account, target, exc.errors, status=401)
    except RateLimited as exc:
        response = code_step(request, account, target, {"code": str(exc)}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    try:
        return await _log_in(request, account, target)
    except web.HTTPSeeOther as done:
        done.del_cookie(PENDING_COOKIE, path="/login")
        raise


def _busy(response: web.Response, exc: Overloaded) -> web.Response:
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@routes.post("/logout", name="logout")
async def logout(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await accounts.end_session(request.app[CONTEXT_KEY], token)
    response = web.HTTPSeeOther("/")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def require_login(request: web.Request):  # type: ignore[no-untyped-def]
    account = request[ACCOUNT]
    if account is None:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    return account
