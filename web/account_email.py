"""Email pages (docs/accounts.md): confirm an address, forgotten password, confirm an email change, resend.

A mailed link opens a page with a button; only the button's POST uses the token, so mail scanners that fetch
links cannot spend it."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import RateLimited, ValidationError
from cara_fed.observe import client_address
from cara_fed.services import account_email
from web import forms
from web.auth import render_form, require_login
from web.render import render

routes = web.RouteTableDef()
LINKS = {"verify": ("/verify-email/", "Confirm your email address", "Confirm this address"),
         "email": ("/confirm-email/", "Confirm your new email address", "Use this address")}
SENT = ("If an account here uses that address, we have sent it a link to choose a new password. It works once "
        "and expires soon; check your spam folder too.")


def _no_mail(request: web.Request) -> None:
    if not request.app[CONTEXT_KEY].config.mail.enabled:
        raise web.HTTPNotFound(text="This instance does not send email; ask an admin for help with your account.")


async def _link_form(request: web.Request, purpose: str) -> web.Response:
    _no_mail(request)
    token = request.match_info["token"]
    prefix, title, button = LINKS[purpose]
    if not await account_email.check_token(request.app[CONTEXT_KEY], token, purpose):
        return render(request, "message.html", {"title": "Link expired", "message": account_email.EXPIRED},
                      status=400)
    return render_form(request, "confirm_link.html", {"title": title, "button": button, "here": prefix + token})


async def _use_link(request: web.Request, purpose: str) -> web.Response:
    _no_mail(request)
    ctx = request.app[CONTEXT_KEY]
    try:
        if purpose == "verify":
            await account_email.verify(ctx, request.match_info["token"])
            message = "Thank you: your email address is confirmed."
        else:
            account = await account_email.confirm_email_change(ctx, request.match_info["token"])
            message = f"Your email address is now {account.email}."
    except ValidationError as exc:
        return render(request, "message.html", {"title": "Link expired", "message": "; ".join(exc.errors.values())},
                      status=400)
    # The signed-in account was read before the change: no stale "please confirm" notice on this page.
    return render(request, "message.html", {"title": "Email confirmed", "message": message,
                                            "email_unconfirmed": False})


@routes.get(r"/verify-email/{token:[A-Za-z0-9_-]{1,100}}", name="verify_email")
async def verify_form(request: web.Request) -> web.Response:
    return await _link_form(request, "verify")


@routes.post(r"/verify-email/{token:[A-Za-z0-9_-]{1,100}}")
async def verify(request: web.Request) -> web.Response:
    return await _use_link(request, "verify")


@routes.get(r"/confirm-email/{token:[A-Za-z0-9_-]{1,100}}", name="confirm_email")
async def confirm_form(request: web.Request) -> web.Response:
    return await _link_form(request, "email")


@routes.post(r"/confirm-email/{token:[A-Za-z0-9_-]{1,100}}")
async def confirm(request: web.Request) -> web.Response:
    return await _use_link(request, "email")


@routes.post("/settings/email/resend", name="resend_verification")
async def resend(request: web.Request) -> web.Response:
    account = require_login(request)
    _no_mail(request)
    await account_email.resend_verification(request.app[CONTEXT_KEY], account.id)
    raise web.HTTPSeeOther("/settings?resent=1#sign-in-h")


@routes.get("/forgot-password", name="forgot_password")
async def forgot_form(request: web.Request) -> web.Response:
    _no_mail(request)
    return render_form(request, "forgot_password.html", {"form": {}, "errors": {}})


@routes.post("/forgot-password")
async def forgot(request: web.Request) -> web.Response:
    _no_mail(request)
    form = await request.post()
    email = forms.text(form, "email")
    try:
        await account_email.request_reset(request.app[CONTEXT_KEY], email, client_address(request))
    except ValidationError as exc:
        return render_form(request, "forgot_password.html", {"form": {"email": email}, "errors": exc.errors},
                           status=400)
    except RateLimited as exc:
        response = render_form(request, "forgot_password.html", {"form": {"email": email},
                                                                 "errors": {"form": str(exc)}}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(request, "message.html", {"title": "Check your email", "message": SENT})


@routes.get(r"/reset-password/{token:[A-Za-z0-9_-]{1,100}}", name="reset_password")
async def reset_form(request: web.Request) -> web.Response:
    _no_mail(request)
    if not await account_email.check_token(request.app[CONTEXT_KEY], request.match_info["token"], "reset"):
        return render(request, "message.html", {"title": "Link expired", "message": account_email.EXPIRED},
                      status=400)
    return render_form(request, "reset_password.html", {"here": request.path, "errors": {}})


@routes.post(r"/reset-password/{token:[A-Za-z0-9_-]{1,100}}")
async def reset(request: web.Request) -> web.Response:
    _no_mail(request)
    form = await request.post()
    try:
        await account_email.reset_password(request.app[CONTEXT_KEY], request.match_info["token"],
                                           forms.text(form, "password"))
    except ValidationError as exc:
        if "token" in exc.errors:
            return render(request, "message.html", {"title": "Link expired", "message": exc.errors["token"]},
                          status=400)
        return render_form(request, "reset_password.html", {"here": request.path, "errors": exc.errors},
                           status=400)
    return render(request, "message.html", {"title": "Password changed", "message":
                  "Your new password is set, and every browser signed in to your account was signed out. "
                  "You can log in now."})
