"""Settings for moving an account (docs/accounts.md): aliases (`alsoKnownAs`, so an old account elsewhere may
move here) and moving this account to a new one elsewhere, confirmed with the password. The checks that
need the network go through ctx.directory (the federation edge); services/moves.py records."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.directory import LookupFailed
from cara_fed.errors import PermissionDenied, ValidationError
from cara_fed.models import Account
from cara_fed.services import moves
from web import forms
from web.auth import require_login
from web.render import render

routes = web.RouteTableDef()
PAGE = "/settings/move"


def _page(request: web.Request, account: Account, errors: dict | None = None, status: int = 200,
          form: dict | None = None) -> web.Response:
    ctx = request.app[CONTEXT_KEY]
    response = render(request, "settings_move.html", {
        "account": account, "errors": errors or {}, "form": form or {}, "saved": request.query.get("saved", ""),
        "cooldown_days": moves.MOVE_COOLDOWN.days, "federates": ctx.directory is not None}, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _resolve(request: web.Request, value: str, field: str) -> Account:
    """A handle or actor URL -> the remote account (fetched if need be); ValidationError in plain words."""
    ctx = request.app[CONTEXT_KEY]
    if not value.strip():
        raise ValidationError({field: "Enter a handle like @you@example.social or the account's address."})
    if ctx.directory is None:
        raise ValidationError({field: "This server does not federate, so accounts elsewhere cannot be named."})
    try:
        found = await ctx.directory.resolve_uri(value.strip())
    except LookupFailed as exc:
        raise ValidationError({field: str(exc)}) from None
    if not isinstance(found, Account) or found.kind == "application":
        raise ValidationError({field: "That address is not a person's account."})
    return found


@routes.get(PAGE, name="settings_move")
async def move_page(request: web.Request) -> web.Response:
    return _page(request, require_login(request))


@routes.post("/settings/aliases", name="settings_alias_add")
async def add_alias(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        alias = await _resolve(request, forms.text(form, "alias"), "alias")
        await moves.add_alias(request.app[CONTEXT_KEY], account.id, alias)
    except ValidationError as exc:
        return _page(request, account, exc.errors, status=400, form=dict(form))
    raise web.HTTPSeeOther(f"{PAGE}?saved=alias#aliases-h")


@routes.post("/settings/aliases/remove", name="settings_alias_remove")
async def remove_alias(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    await moves.remove_alias(request.app[CONTEXT_KEY], account.id, forms.text(form, "uri"))
    raise web.HTTPSeeOther(f"{PAGE}?saved=removed#aliases-h")


@routes.post(PAGE, name="settings_move_post")
async def move(request: web.Request) -> web.Response:
    """Check the password and cooldown first (no network on a wrong password), then the new account's aliases."""
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    form = await request.post()
    try:
        await moves.check_move(ctx, account.id, forms.text(form, "password"))
        target = await _resolve(request, forms.text(form, "target"), "target")
        try:
            await ctx.directory.confirm_alias(target, account)
        except LookupFailed as exc:
            raise ValidationError({"target": str(exc)}) from None
        await moves.move(ctx, account.id, target)
    except ValidationError as exc:
        return _page(request, account, exc.errors, status=400, form={"target": forms.text(form, "target")})
    except PermissionDenied as exc:
        return _page(request, account, {"target": str(exc)}, status=400, form={"target": forms.text(form, "target")})
    raise web.HTTPSeeOther(f"{PAGE}?saved=moved#move-h")
