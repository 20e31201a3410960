"""Decisions about an artist's account and works, their one appeal each, and the admins' appeal queue (issue 18)."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.services import appeals
from web import forms
from web.admin import require_admin
from web.auth import require_login
from web.render import render

routes = web.RouteTableDef()


async def _decisions(request: web.Request, errors: dict | None = None, status: int = 200) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await appeals.about(session, account)
    return render(request, "decisions.html", {"rows": rows, "errors": errors or {}, "max": appeals.APPEAL_MAX},
                  status=status, headers={"Cache-Control": "no-store"})


@routes.get("/settings/decisions", name="decisions")
async def decisions(request: web.Request) -> web.Response:
    return await _decisions(request)


@routes.post(r"/settings/decisions/{entry_id:\d+}/appeal", name="decision_appeal")
async def appeal(request: web.Request) -> web.Response:
    account = require_login(request)
    entry_id = forms.path_id(request, "entry_id")
    form = await request.post()
    try:
        await appeals.appeal(request.app[CONTEXT_KEY], account, entry_id, forms.text(form, "appeal"))
    except ValidationError as exc:
        return await _decisions(request, {f"appeal-{entry_id}": exc.errors["appeal"]}, status=400)
    raise web.HTTPSeeOther(f"/settings/decisions#decision-{entry_id}")


@routes.get("/admin/appeals", name="admin_appeals")
async def appeal_queue(request: web.Request) -> web.Response:
    require_admin(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = await appeals.pending(session)
    return render(request, "admin_appeals.html", {"rows": rows}, headers={"Cache-Control": "no-store"})


@routes.post(r"/admin/appeals/{entry_id:\d+}/{outcome:uphold|reverse}", name="admin_appeal_decide")
async def decide(request: web.Request) -> web.Response:
    admin_account = require_admin(request)
    form = await request.post()
    await appeals.decide(request.app[CONTEXT_KEY], admin_account, forms.path_id(request, "entry_id"),
                         request.match_info["outcome"], forms.text(form, "note"))
    raise web.HTTPSeeOther("/admin/appeals")
