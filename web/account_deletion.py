"""Deleting an account (docs/accounts.md "Deleting an account"): the owner asks in Settings with password (and
two-factor code); during the grace period they may sign in only on the cancel page; admins suspend a local
account for deletion and may lift it within the grace period."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import NotFound, PermissionDenied, RateLimited, ValidationError
from cara_fed.models import Account
from cara_fed.observe import client_address
from cara_fed.services import account_deletion, two_factor
from web import forms
from web.admin import require_admin
from web.auth import render_form, require_login
from web.render import render

routes = web.RouteTableDef()
PAGE, CANCEL, ADMIN = "/settings/delete", "/account/cancel-deletion", "/admin/deletions"


def _page(request: web.Request, account: Account, errors: dict | None = None, status: int = 200) -> web.Response:
    return render(request, "settings_delete.html", {
        "errors": errors or {}, "two_factor": two_factor.is_enabled(account),
        "days": request.app[CONTEXT_KEY].config.accounts.deletion_grace_days}, status=status)


@routes.get(PAGE, name="delete_account")
async def delete_page(request: web.Request) -> web.Response:
    return _page(request, require_login(request))


@routes.post(PAGE)
async def delete_account(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    try:
        due = await account_deletion.request_deletion(request.app[CONTEXT_KEY], account.id, forms.text(form,
                                                                                                       "password"),
                                                      forms.text(form, "code"))
    except ValidationError as exc:
        return _page(request, account, exc.errors, status=400)
    except RateLimited as exc:
        return _page(request, account, {"code": str(exc)}, status=429)
    except PermissionDenied as exc:
        return _page(request, account, {"form": str(exc)}, status=403)
    return render(request, "message.html", {"title": "Your account will be deleted", "message": (
        f"It is hidden now and will be deleted on {due:%Y-%m-%d %H:%M} UTC. Until then you can cancel at "
        f"{CANCEL}.")})


def _cancel_form(request: web.Request, login: str = "", errors: dict | None = None,
                 status: int = 200) -> web.Response:
    return render_form(request, "cancel_deletion.html", {"form": {"login": login}, "errors": errors or {}},
                       status=status)


@routes.get(CANCEL, name="cancel_deletion")
async def cancel_page(request: web.Request) -> web.Response:
    return _cancel_form(request)


@routes.post(CANCEL)
async def cancel(request: web.Request) -> web.Response:
    form = await request.post()
    login = forms.text(form, "login")
    try:
        await account_deletion.cancel_deletion(request.app[CONTEXT_KEY], login, forms.text(form, "password"),
                                               forms.text(form, "code"), client_address(request))
    except ValidationError as exc:
        return _cancel_form(request, login, exc.errors, status=400)
    except RateLimited as exc:
        response = _cancel_form(request, login, {"form": str(exc)}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return render(request, "message.html", {"title": "Deletion cancelled",
                                            "message": "Your account is back as it was. You can log in again."})


@routes.get(ADMIN, name="admin_deletions")
async def admin_page(request: web.Request, errors: dict | None = None, status: int = 200) -> web.Response:
    require_admin(request)
    from sqlalchemy import select

    async with request.app[CONTEXT_KEY].sessions() as session:
        pending = (await session.scalars(select(Account).where(
            Account.deletion_due_at.is_not(None), Account.deleted_at.is_(None), Account.domain.is_(None))
            .order_by(Account.deletion_due_at))).all()
    return render(request, "admin_deletions.html", {"pending": pending, "errors": errors or {}}, status=status)


@routes.post(ADMIN + "/suspend")
async def admin_suspend(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await request.post()
    from cara_fed import queries

    async with request.app[CONTEXT_KEY].sessions() as session:
        target = await queries.local_account(session, forms.text(form, "username").lstrip("@"))
    try:
        if target is None:
            raise NotFound("There is no such account here.")
        await account_deletion.suspend(request.app[CONTEXT_KEY], target.id, admin, forms.text(form, "reason"))
    except (NotFound, ValidationError) as exc:
        message = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
        return await admin_page(request, {"username": message}, status=400)
    raise web.HTTPSeeOther(ADMIN)


@routes.post(ADMIN + r"/{account_id:\d+}/unsuspend")
async def admin_unsuspend(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await request.post()
    try:
        await account_deletion.unsuspend(request.app[CONTEXT_KEY], forms.path_id(request, "account_id"), admin,
                                         forms.text(form, "reason"))
    except (NotFound, ValidationError) as exc:
        message = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
        return await admin_page(request, {"form": message}, status=400)
    raise web.HTTPSeeOther(ADMIN)
