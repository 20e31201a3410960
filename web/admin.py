"""Admin pages: sign-up approvals, invites, instance policy (domain blocks, allowlist, Mastodon CSV)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import Account
from cara_fed.services import accounts, domain_blocks_csv, instances
from web import forms
from web.auth import require_login
from web.limits import accepts_uploads
from web.render import render

routes = web.RouteTableDef()


def require_admin(request: web.Request) -> Account:
    account = require_login(request)
    if not account.is_admin:
        raise web.HTTPForbidden(text="Only administrators can open this page.")
    return account


async def _page(request: web.Request, errors: dict | None = None, invite: str = "", status: int = 200,  # type: ignore[no-untyped-def]
                notice: str = ""):
    ctx = request.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        pending = (await session.scalars(select(Account).where(Account.status == "pending", Account.domain.is_(None))
                                         .order_by(Account.created_at))).all()
        blocks = await instances.policies(session)
    return render(request, "admin.html", {"pending": pending, "blocks": blocks, "errors": errors or {},
                                          "new_invite": invite, "config": ctx.config, "notice": notice},
                  status=status)


@routes.get("/admin", name="admin")
async def admin(request: web.Request) -> web.Response:
    require_admin(request)
    return await _page(request)


@routes.post(r"/admin/accounts/{account_id:\d+}/{decision:approve|reject}", name="admin_decide")
async def decide(request: web.Request) -> web.Response:
    admin_account = require_admin(request)
    status = "active" if request.match_info["decision"] == "approve" else "suspended"
    form = await request.post()
    await accounts.set_status(request.app[CONTEXT_KEY], forms.path_id(request, "account_id"), status,
                              actor=admin_account,
                              reason=forms.text(form, "reason"))
    raise web.HTTPSeeOther("/admin")


@routes.post("/admin/invites", name="admin_invite")
async def invite(request: web.Request) -> web.Response:
    admin_account = require_admin(request)
    code = await accounts.create_invite(request.app[CONTEXT_KEY], admin_account.id)
    ctx = request.app[CONTEXT_KEY]
    return await _page(request, invite=f"{ctx.config.base_url}/signup?invite={code}")


@routes.post("/admin/instances", name="admin_instances")
async def instance_policy(request: web.Request) -> web.Response:
    admin_account = require_admin(request)
    form = await request.post()
    ctx, domain, reason = request.app[CONTEXT_KEY], forms.text(form, "domain"), forms.text(form, "reason")
    try:
        if forms.text(form, "action") in ("allow", "disallow"):
            await instances.set_allowed(ctx, domain, forms.text(form, "action") == "allow", actor=admin_account,
                                        reason=reason)
        else:
            await instances.set_policy(ctx, domain, forms.text(form, "policy"), reason, actor=admin_account)
    except ValidationError as exc:
        return await _page(request, errors=exc.errors, status=400)
    raise web.HTTPSeeOther("/admin#instances")


@routes.get("/admin/domain_blocks.csv", name="admin_domain_blocks_export")
async def export_domain_blocks(request: web.Request) -> web.Response:
    require_admin(request)
    body = await domain_blocks_csv.export_csv(request.app[CONTEXT_KEY])
    return web.Response(text=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": 'attachment; filename="domain_blocks.csv"', "Cache-Control": "private, no-store"})


@routes.post("/admin/domain_blocks/import", name="admin_domain_blocks_import")
@accepts_uploads
async def import_domain_blocks(request: web.Request) -> web.Response:
    admin_account = require_admin(request)
    form = await request.post()
    field = form.get("csv")
    try:
        if not isinstance(field, web.FileField) or not field.filename:
            raise ValidationError({"csv": "Choose a CSV file to import."})
        data = field.file.read(domain_blocks_csv.MAX_BYTES + 1)
        count = await domain_blocks_csv.import_csv(request.app[CONTEXT_KEY], admin_account, data)
    except ValidationError as exc:
        return await _page(request, errors=exc.errors, status=400)
    return await _page(request, notice=f"Imported {count} domain{'s' if count != 1 else ''}.")
