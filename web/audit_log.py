"""Admin page listing the moderation audit log (issue 18): newest first, 50 a page, filtered by target."""

from __future__ import annotations

from aiohttp import web

from cara_fed.context import CONTEXT_KEY
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.services import audit
from web.admin import require_admin
from web.render import render

routes = web.RouteTableDef()


@routes.get("/admin/log", name="admin_log")
async def audit_log(request: web.Request) -> web.Response:
    require_admin(request)
    target = request.query.get("target", "").strip()[:300]
    before = parse_whole(request.query.get("before", ""), most=INT4_MAX)
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows, next_before = await audit.page(session, target=target, before=before)
    return render(request, "admin_log.html", {"rows": rows, "target": target, "next_before": next_before},
                  headers={"Cache-Control": "no-store"})
