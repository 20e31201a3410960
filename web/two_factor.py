"""Two-factor settings (docs/accounts.md): enrol with a QR code, confirm with a code, see recovery codes once,
turn it off with password + code; and the middleware that sends admins to enrolment when the instance
requires it ([security] require_admin_2fa)."""

from __future__ import annotations

import segno
from aiohttp import web
from markupsafe import Markup

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import RateLimited, ValidationError
from cara_fed.services import two_factor
from web import forms
from web.auth import require_login
from web.keys import ACCOUNT
from web.middleware import Handler
from web.render import render

routes = web.RouteTableDef()
PAGE = "/settings/two-factor"
# Where an admin who must enrol may still go: enrolment itself, logging out, and what pages load.
ENROL_ALLOWED = (PAGE, "/logout", "/static/", "/media/", "/favicon")


def _qr_svg(uri: str) -> Markup:
    # segno writes only its own markup (rects and a path), safe to inline; CSP allows inline SVG elements.
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                title="QR code for your authenticator app")
    labelled = svg.replace("<svg ", '<svg role="img" aria-label="QR code for your authenticator app" ', 1)
    return Markup(labelled)  # noqa: S704


async def _page(request: web.Request, errors: dict | None = None, status: int = 200) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    account = require_login(request)
    context: dict = {"errors": errors or {}, "enabled": two_factor.is_enabled(account),
                     "required": account.is_admin and ctx.config.security.require_admin_2fa}
    if context["enabled"]:
        context["codes_left"] = await two_factor.recovery_codes_left(ctx, account.id)
    else:
        pending = await two_factor.start_enrolment(ctx, account.id)
        uri = two_factor.provisioning_uri(pending, ctx.config.instance.name, ctx.config.server.domain)
        context.update(secret=pending.totp_secret, qr=_qr_svg(uri))
    response = render(request, "two_factor.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get(PAGE, name="two_factor")
async def two_factor_page(request: web.Request) -> web.Response:
    return await _page(request)


@routes.post(PAGE + "/confirm", name="two_factor_confirm")
async def confirm(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        codes = await two_factor.confirm_enrolment(request.app[CONTEXT_KEY], account.id, forms.text(form, "code"))
    except ValidationError as exc:
        return await _page(request, exc.errors, status=400)
    except RateLimited as exc:
        return await _page(request, {"code": str(exc)}, status=429)
    response = render(request, "recovery_codes.html", {"codes": codes})
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post(PAGE + "/disable", name="two_factor_disable")
async def disable(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        await two_factor.disable(request.app[CONTEXT_KEY], account.id, forms.text(form, "password"),
                                 forms.text(form, "code"))
    except ValidationError as exc:
        return await _page(request, exc.errors, status=400)
    except RateLimited as exc:
        return await _page(request, {"code": str(exc)}, status=429)
    raise web.HTTPSeeOther(PAGE)


@routes.post(PAGE + "/recovery-codes", name="two_factor_new_codes")
async def new_codes(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        codes = await two_factor.new_recovery_codes(request.app[CONTEXT_KEY], account.id, forms.text(form, "password"),
                                                    forms.text(form, "code"))
    except ValidationError as exc:
        return await _page(request, {f"new_{k}": v for k, v in exc.errors.items()}, status=400)
    except RateLimited as exc:
        return await _page(request, {"new_code": str(exc)}, status=429)
    response = render(request, "recovery_codes.html", {"codes": codes, "renewed": True})
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def admins_enrol(request: web.Request, handler: Handler) -> web.StreamResponse:
    """[security] require_admin_2fa: a signed-in admin without two-factor sees only the enrolment page."""
    account = request.get(ACCOUNT)
    if (account is not None and account.is_admin and request.app[CONTEXT_KEY].config.security.require_admin_2fa
            and not two_factor.is_enabled(account) and not request.path.startswith(ENROL_ALLOWED)
            and not request.path.startswith("/api/")):
        raise web.HTTPSeeOther(PAGE + "?required=1")
    return await handler(request)
