"""The notifications page (keyset pages, mark as read) and the unread badge in the site navigation."""

from __future__ import annotations

from aiohttp import web

from cara_fed import queries_social
from cara_fed.context import CONTEXT_KEY
from cara_fed.services import notifications
from web import forms
from web.auth import require_login
from web.keys import UNREAD
from web.pages import cursor
from web.render import render

routes = web.RouteTableDef()


@routes.get("/notifications", name="notifications")
async def notifications_page(request: web.Request) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        page = await queries_social.notifications(session, account, before=cursor(request))
    return render(request, "notifications.html", {"page": page, "notifications": page.items,
                                                  "unread": request.get(UNREAD, 0)},
                  headers={"Cache-Control": "no-store"})


@routes.post("/notifications/read", name="notifications_read")
async def notifications_read(request: web.Request) -> web.Response:
    """Mark all read, or only the ids posted (`ids`: the ones on the page the person saw)."""
    account = require_login(request)
    form = await request.post()
    ids = forms.int_values(form.getall("ids", []))
    if ids:
        await notifications.mark_read(request.app[CONTEXT_KEY], account, ids)
    else:
        await notifications.mark_all_read(request.app[CONTEXT_KEY], account)
    raise web.HTTPSeeOther("/notifications")


@routes.get(r"/notifications/{notification_id:\d{1,9}}", name="open_notification")
async def open_notification(request: web.Request) -> web.Response:
    """Mark one notification read and go to what it is about."""
    account = require_login(request)
    target = await notifications.open_one(request.app[CONTEXT_KEY], account, forms.path_id(request, "notification_id"))
    raise web.HTTPSeeOther(target or "/notifications")
