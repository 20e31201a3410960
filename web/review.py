"""AI-provenance review: the artist's protection panel (signals, verdict, appeal) and the moderators' queue."""

from __future__ import annotations

from aiohttp import web

from cara_fed.errors import ValidationError
from cara_fed.models import Artwork, ReviewCase
from cara_fed.services import review
from web import forms
from web.admin import require_admin
from web.auth import require_login
from web.keys import CTX
from web.render import render

routes = web.RouteTableDef()


def signals(work: Artwork, tdm_policy_url: str) -> list[tuple[str, str]]:
    """What we send for this artwork, in words (the panel lists exactly these)."""
    if not work.noai:
        return [("Image files", "creator, copyright and licence in the XMP of every served image, without a "
                                "data-mining reservation")]
    found = [
        ("Web page", '<meta name="robots" content="noai, noimageai"> and <meta name="tdm-reservation" content="1">'),
        ("HTTP headers", "X-Robots-Tag: noai, noimageai and tdm-reservation: 1 on the page and every image"
                         + (f", tdm-policy: {tdm_policy_url}" if tdm_policy_url else "")),
        ("This instance", "/robots.txt and /ai.txt refuse known AI crawlers; /.well-known/tdmrep.json reserves "
                          "text-and-data-mining rights; listed AI crawlers get 403 on images"),
        ("Image files", "XMP in every served JPEG and WebP: IPTC plus:DataMining = prohibited, digital source "
                        "type, creator, copyright and licence (stamped again after every re-encode)"),
        ("Federation", 'the ActivityPub Note carries xRobotsTag "noai, noimageai" (FEP-5e53) and cara:noai, '
                       "so other cara-fed servers keep the same signals on their copies"),
    ]
    return found


async def _own(request: web.Request) -> tuple[Artwork, ReviewCase | None]:
    account = require_login(request)
    async with request.app[CTX].sessions() as session:
        work = await session.get(Artwork, forms.path_id(request, "artwork_id"))
        case = await review.case_for(session, work.id) if work is not None else None
    if work is None or work.account_id != account.id:
        raise web.HTTPNotFound(text="This artwork does not exist or is not yours.")
    return work, case


async def _panel(request: web.Request, work: Artwork, case: ReviewCase | None, errors: dict | None = None,
                 status: int = 200, message: str = "") -> web.Response:
    ctx = request.app[CTX]
    return render(request, "protection_panel.html", {
        "work": work, "case": case, "appealed": "appealed" in request.query, "verdict": review.artwork_verdict(work),
        "detection_ran": review.detection_ran(work), "signals": signals(work, ctx.config.protection.tdm_policy_url),
        "label_text": review.LABEL_TEXT, "errors": errors or {}, "message": message,
        "policy": ctx.config.detection}, status=status, noai=work.noai)


@routes.get(r"/artworks/{artwork_id:\d+}/protection", name="artwork_protection")
async def panel(request: web.Request) -> web.Response:
    work, case = await _own(request)
    return await _panel(request, work, case)


@routes.post(r"/artworks/{artwork_id:\d+}/appeal", name="artwork_appeal")
async def appeal(request: web.Request) -> web.Response:
    account = require_login(request)
    work, case = await _own(request)
    form = await request.post()
    try:
        await review.appeal(request.app[CTX], account, work.id, forms.text(form, "message"))
    except ValidationError as exc:
        return await _panel(request, work, case, errors=exc.errors, status=400, message=forms.text(form, "message"))
    raise web.HTTPSeeOther(f"/artworks/{work.id}/protection?appealed=1")


@routes.get("/admin/review", name="admin_review")
async def queue(request: web.Request) -> web.Response:
    require_admin(request)
    ctx = request.app[CTX]
    async with ctx.sessions() as session:
        cases = await review.open_cases(session)
        recent = await review.recent_decisions(session)
    verdicts = {case.id: _verdict(case) for case in cases}
    return render(request, "review_queue.html", {"cases": cases, "verdicts": verdicts, "recent": recent,
                                                 "policy": ctx.config.detection, "label_text": review.LABEL_TEXT})


def _verdict(case: ReviewCase) -> review.Verdict:
    return review.Verdict.from_json(case.verdict) if case.verdict else review.artwork_verdict(case.artwork)


@routes.get(r"/admin/review/{case_id:\d+}", name="admin_review_case")
async def case_page(request: web.Request, errors: dict | None = None, status: int = 200) -> web.Response:
    require_admin(request)
    async with request.app[CTX].sessions() as session:
        case = await session.get(ReviewCase, forms.path_id(request, "case_id"))
    if case is None:
        raise web.HTTPNotFound(text="There is no such review case.")
    return render(request, "review_case.html", {
        "case": case, "work": case.artwork, "verdict": _verdict(case), "current": review.artwork_verdict(case.artwork),
        "decisions": review.DECISIONS, "label_text": review.LABEL_TEXT, "errors": errors or {}}, status=status)


@routes.post(r"/admin/review/{case_id:\d+}", name="admin_review_decide")
async def decide(request: web.Request) -> web.Response:
    moderator = require_admin(request)
    form = await request.post()
    try:
        await review.decide(request.app[CTX], moderator, forms.path_id(request, "case_id"), forms.text(form, "action"),
                            forms.text(form, "note"))
    except ValidationError as exc:
        return await case_page(request, errors=exc.errors, status=400)
    raise web.HTTPSeeOther("/admin/review")
