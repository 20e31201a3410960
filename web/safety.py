"""Blocks, mutes and reports from a profile or an artwork, and the moderators' reports queue."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Artwork, Report
from cara_fed.numbers import INT4_MAX, parse_whole
from cara_fed.services import reports, safety
from web import forms
from web.admin import require_admin
from web.auth import require_login
from web.render import profile_path, render

routes = web.RouteTableDef()
async def _account(request: web.Request) -> Account:
    async with request.app[CONTEXT_KEY].sessions() as session:
        account = await session.get(Account, forms.path_id(request, "account_id"))
    if account is None or account.status == "suspended":
        raise web.HTTPNotFound(text="No such account.")
    return account


ACTIONS = {"block": safety.block, "unblock": safety.unblock, "mute": safety.mute, "unmute": safety.unmute}


@routes.post(r"/accounts/{account_id:\d+}/{action:block|unblock|mute|unmute}", name="safety_action")
async def act(request: web.Request) -> web.Response:
    viewer = require_login(request)
    target = await _account(request)
    await ACTIONS[request.match_info["action"]](request.app[CONTEXT_KEY], viewer, target)
    raise web.HTTPSeeOther(profile_path(target))


async def _reported(request: web.Request, raw_artwork: str) -> tuple[Account, Artwork | None]:
    target = await _account(request)
    if not raw_artwork:
        return target, None
    artwork_id = parse_whole(raw_artwork)
    if artwork_id is None:
        raise web.HTTPBadRequest(text="The artwork to report must be given by its number.")
    async with request.app[CONTEXT_KEY].sessions() as session:
        work = await session.get(Artwork, artwork_id) if artwork_id <= INT4_MAX else None
    if work is None or work.account_id != target.id:
        raise web.HTTPNotFound(text="There is no such artwork by this account to report.")
    return target, work


def _form(request: web.Request, target: Account, work: Artwork | None, errors: dict | None = None,
          reason: str = "", status: int = 200) -> web.Response:
    return render(request, "report_form.html", {"target": target, "work": work, "errors": errors or {},
                                                "reason": reason}, status=status)


@routes.get(r"/accounts/{account_id:\d+}/report", name="report_form")
async def report_form(request: web.Request) -> web.Response:
    require_login(request)
    target, work = await _reported(request, request.query.get("artwork", ""))
    return _form(request, target, work)


@routes.post(r"/accounts/{account_id:\d+}/report", name="report")
async def report(request: web.Request) -> web.Response:
    viewer = require_login(request)
    form = await request.post()
    target, work = await _reported(request, forms.text(form, "artwork"))
    try:
        await reports.report(request.app[CONTEXT_KEY], viewer, target, work, forms.text(form, "reason"),
                             forward=forms.checkbox(form, "forward"))
    except ValidationError as exc:
        return _form(request, target, work, exc.errors, forms.text(form, "reason")[:2000], status=400)
    return render(request, "message.html", {
        "title": "Report sent", "message": "Thank you. The moderators of this server will look at it"
        + (f"; a copy went to the moderators of {target.domain}." if not target.is_local and forms.checkbox(
            form, "forward") else ".")})


# --- moderators --------------------------------------------------------------------------------------


@routes.get("/admin/reports", name="admin_reports")
async def queue(request: web.Request) -> web.Response:
    require_admin(request)
    show = request.query.get("state", "open")
    if show not in ("open", "resolved", "dismissed"):
        raise web.HTTPBadRequest(text="Show open, resolved or dismissed reports.")
    async with request.app[CONTEXT_KEY].sessions() as session:
        rows = list((await session.scalars(select(Report).where(Report.state == show)
                                           .order_by(Report.created_at.desc()).limit(100))).unique().all())
        works = {w.id: w for w in (await session.scalars(select(Artwork).where(
            Artwork.id.in_([r.artwork_id for r in rows if r.artwork_id])))).unique().all()}
    return render(request, "reports_queue.html", {"reports": rows, "works": works, "show": show},
                  headers={"Cache-Control": "no-store"})


@routes.post(r"/admin/reports/{report_id:\d+}/{decision:resolve|dismiss}", name="decide_report")
async def decide(request: web.Request) -> web.Response:
    moderator = require_admin(request)
    form = await request.post()
    await reports.decide(request.app[CONTEXT_KEY], moderator, forms.path_id(request, "report_id"),
                         request.match_info["decision"], forms.text(form, "note"))
    raise web.HTTPSeeOther("/admin/reports")
