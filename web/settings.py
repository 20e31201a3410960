"""Profile settings: name, bio, links, skills, avatar and banner, NoAI default, privacy."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.services import accounts, credentials
from cara_fed.services.media import Upload
from web import forms
from web.auth import require_login
from web.keys import SESSION_COOKIE
from web.limits import accepts_uploads
from web.render import render

routes = web.RouteTableDef()
LINK_SLOTS = 4


def _settings(request: web.Request, account, form=None, errors=None, status=200, saved=False,  # type: ignore[no-untyped-def]
              sign_in_errors=None):
    links = list(account.links) + [{"name": "", "url": ""}] * LINK_SLOTS
    return render(request, "settings.html", {"account": account, "form": form, "errors": errors or {},
                                             "links": links[:LINK_SLOTS], "saved": saved,
                                             "sign_in_errors": sign_in_errors or {},
                                             "email_requested": "email_requested" in request.query,
                                             "resent": "resent" in request.query}, status=status)


@routes.get("/settings", name="settings")
async def settings_form(request: web.Request) -> web.Response:
    return _settings(request, require_login(request), saved="saved" in request.query)


@routes.post("/settings")
@accepts_uploads
async def save_settings(request: web.Request) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    form = await request.post()
    links = [{"name": forms.text(form, f"link_name_{i}"), "url": forms.text(form, f"link_url_{i}")}
             for i in range(LINK_SLOTS)]
    try:
        updated = await accounts.update_profile(
            ctx, account.id, display_name=forms.text(form, "display_name"), bio=forms.text(form, "bio"),
            location=forms.text(form, "location"), links=links,
            skills=forms.text(form, "skills").split(","), open_to_work=forms.checkbox(form, "open_to_work"),
            noai_default=forms.checkbox(form, "noai_default"), locked=forms.checkbox(form, "locked"),
            discoverable=forms.checkbox(form, "discoverable"), indexable=forms.checkbox(form, "indexable"),
            cloak_default=forms.checkbox(form, "cloak_default"))
        for purpose in ("avatar", "banner"):
            field = form.get(purpose)
            if isinstance(field, web.FileField) and field.filename:
                await accounts.set_profile_image(ctx, account.id, Upload(field.file.read(), field.filename), purpose)
    except ValidationError as exc:
        return _settings(request, account, form=dict(form), errors=exc.errors, status=400)
    raise web.HTTPSeeOther(f"/settings?saved=1#{updated.username}")


@routes.post("/settings/sign-in", name="settings_sign_in")
async def change_sign_in(request: web.Request) -> web.Response:
    """New password and/or email, confirmed with the current password."""
    account = require_login(request)
    form = await request.post()
    try:
        await credentials.change(request.app[CONTEXT_KEY], account.id, forms.text(form, "current_password"),
                                 new_password=forms.text(form, "new_password"),
                                 new_email=forms.text(form, "new_email"),
                                 keep_session=request.cookies.get(SESSION_COOKIE))
    except ValidationError as exc:
        return _settings(request, account, sign_in_errors=exc.errors, status=400)
    # With a mail host a new address is only requested: say a link went to it (services/account_email.py).
    mail_sent = forms.text(form, "new_email").strip() and request.app[CONTEXT_KEY].config.mail.enabled
    requested = "&email_requested=1" if mail_sent else ""
    raise web.HTTPSeeOther(f"/settings?saved=1{requested}#sign-in-h")
