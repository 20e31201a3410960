"""The daily digest email's pages (docs/accounts.md): the opt-in at /settings/digest (off by default) and the
mailed one-click unsubscribe link. The link's GET shows a button (mail scanners fetch links); its POST, with
no login and no CSRF token (the signature is the authority, RFC 8058), turns the digest off."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.db import utcnow
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.services import mail_digest
from web import forms
from web.auth import render_form, require_login
from web.render import render

routes = web.RouteTableDef()
LINK = r"/unsubscribe/digest/{account_id:\d{1,10}}/{signature:[0-9a-f]{64}}"


@routes.get("/settings/digest", name="settings_digest")
async def digest_page(request: web.Request, saved: bool = False) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    return render(request, "settings_digest.html", {
        "enabled": await mail_digest.is_enabled(ctx, account), "mail_enabled": ctx.config.mail.enabled,
        "verified": account.email_verified_at is not None, "hour": ctx.config.mail.digest_hour,
        "next_run": mail_digest.next_run_after(ctx, utcnow()), "saved": saved},
        headers={"Cache-Control": "no-store"})


@routes.post("/settings/digest")
async def save_digest(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    if forms.text(form, "digest") not in ("on", "off"):
        raise web.HTTPBadRequest(text="Choose on or off.")
    await mail_digest.set_enabled(request.app[CONTEXT_KEY], account, forms.text(form, "digest") == "on")
    return await digest_page(request, saved=True)


def _link(request: web.Request) -> tuple[int, str]:
    account_id = parse_whole(request.match_info["account_id"], most=INT4_MAX)
    if account_id is None:
        raise web.HTTPNotFound(text="This unsubscribe link is not valid.")
    return account_id, request.match_info["signature"]


@routes.get(LINK, name="digest_unsubscribe")
async def unsubscribe_page(request: web.Request) -> web.Response:
    account_id, signature = _link(request)
    if not await mail_digest.valid_link(request.app[CONTEXT_KEY], account_id, signature):
        return render(request, "message.html", {"title": "Already unsubscribed", "message": (
            "This link no longer turns anything off: the daily digest is already off for it.")})
    return render_form(request, "confirm_link.html", {"title": "Stop the daily digest email",
                                                      "button": "Unsubscribe", "here": request.path})


@routes.post(LINK)
async def unsubscribe(request: web.Request) -> web.Response:
    account_id, signature = _link(request)
    done = await mail_digest.unsubscribe(request.app[CONTEXT_KEY], account_id, signature)
    # Answered alike whether it was on or not (a mail client's one-click POST reads only the status).
    return render(request, "message.html", {"title": "Unsubscribed", "message": (
        "You will not get the daily digest email any more." if done else
        "The daily digest is already off for this link.")})
