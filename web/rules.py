"""Admin page for the instance rules (issue 18): add, edit, reorder, remove; every form carries the CSRF token."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.services import rules
from web import forms
from web.admin import require_admin
from web.render import render

routes = web.RouteTableDef()


async def _page(request: web.Request, errors: dict | None = None, form: dict | None = None,
                status: int = 200) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        listed = await rules.listed(session)
    return render(request, "admin_rules.html", {"rules": listed, "errors": errors or {}, "form": form or {},
                                                "max_text": rules.MAX_TEXT, "max_hint": rules.MAX_HINT},
                  status=status)


@routes.get("/admin/rules", name="admin_rules")
async def rules_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await _page(request)


@routes.post("/admin/rules", name="admin_rules_add")
async def add_rule(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    fields = {"text": forms.text(form, "text"), "hint": forms.text(form, "hint")}
    try:
        await rules.add(request.app[CONTEXT_KEY], fields["text"], fields["hint"])
    except ValidationError as exc:
        return await _page(request, errors=exc.errors, form=fields, status=400)
    raise web.HTTPSeeOther("/admin/rules")


@routes.post(r"/admin/rules/{rule_id:\d+}/{action:edit|delete|up|down}", name="admin_rules_change")
async def change_rule(request: web.Request) -> web.Response:
    require_admin(request)
    ctx, rule_id, action = request.app[CONTEXT_KEY], forms.path_id(request, "rule_id"), request.match_info["action"]
    form = await request.post()
    try:
        if action == "edit":
            await rules.edit(ctx, rule_id, forms.text(form, "text"), forms.text(form, "hint"))
        elif action == "delete":
            await rules.remove(ctx, rule_id)
        else:
            await rules.move(ctx, rule_id, -1 if action == "up" else 1)
    except ValidationError as exc:
        return await _page(request, errors={f"rule-{rule_id}-{k}": v for k, v in exc.errors.items()}, status=400)
    raise web.HTTPSeeOther("/admin/rules")
