"""AI-provenance review: the artist's protection panel (signals, verdict, appeal) and the moderators' queue."""

from __future__ import annotations

from aiohttp import web

from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import Artwork, ReviewCase
from cara_fed.services import review
from web import forms
from web.admin import require_admin
from web.auth import require_login
from web.render import render

routes = web.RouteTableDef()


def signals(work: Artwork, tdm_policy_url: str) -> list[tuple[str, str, str]]:
    """What we send for this artwork: (where, in plain words, the technical names). The panel lists exactly these,
    plain words first and the standards' names in a details element after them (issue 16 item 18)."""
    if not work.noai:
        return [("Image files", "Your name, copyright and licence are written into every image file people can "
                                "download. No request to keep it out of AI training is added.",
                 "XMP metadata in every served image (creator, copyright, licence), without the IPTC "
                 "plus:DataMining reservation.")]
    return [
        ("Web page", "The page asks search engines and AI crawlers not to use the work for AI training.",
         '<meta name="robots" content="noai, noimageai"> and <meta name="tdm-reservation" content="1">'
         " (TDM Reservation Protocol)."),
        ("Every download", "Each response, for the page and for every image, repeats that request, so it holds "
                           "even when someone links the image directly.",
         "HTTP headers X-Robots-Tag: noai, noimageai and tdm-reservation: 1"
         + (f", tdm-policy: {tdm_policy_url}" if tdm_policy_url else "") + "."),
        ("This server", "The server tells known AI crawlers to stay away and refuses them the images.",
         "/robots.txt and /ai.txt disallow listed AI crawlers; /.well-known/tdmrep.json reserves text-and-data-"
         "mining rights; listed AI crawlers get 403 on images."),
        ("Image files", "The request not to train AI, with your name, copyright and licence, is written inside "
                        "every image file, so it travels with copies (until someone strips or re-saves the file).",
         "XMP in every served JPEG and WebP: IPTC plus:DataMining = prohibited, IPTC digital source type, creator, "
         "copyright and licence (stamped again after every re-encode)."),
        ("Other servers", "When the work is shared to Mastodon and other servers, the request goes with it, and "
                          "other cara-fed servers keep the same signals on their copies.",
         'The ActivityPub Note carries xRobotsTag "noai, noimageai" (FEP-5e53) and cara:noai.'),
    ]


async def _own(request: web.Request) -> tuple[Artwork, ReviewCase | None]:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        work = await session.get(Artwork, forms.path_id(request, "artwork_id"))
        case = await review.case_for(session, work.id) if work is not None else None
    if work is None or work.account_id != account.id:
        raise web.HTTPNotFound(text="This artwork does not exist or is not yours.")
    return work, case


async def _panel(request: web.Request, work: Artwork, case: ReviewCase | None, errors: dict | None = None,
                 status: int = 200, message: str = "") -> web.Response:
    ctx = request.app[CONTEXT_KEY]
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
        await review.appeal(request.app[CONTEXT_KEY], account, work.id, forms.text(form, "message"))
    except ValidationError as exc:
        return await _panel(request, work, case, errors=exc.errors, status=400, message=forms.text(form, "message"))
    raise web.HTTPSeeOther(urls.artwork_protection(work.id) + "?appealed=1")


@routes.get("/admin/review", name="admin_review")
async def queue(request: web.Request) -> web.Response:
    require_admin(request)
    ctx = request.app[CONTEXT_KEY]
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
    async with request.app[CONTEXT_KEY].sessions() as session:
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
        await review.decide(request.app[CONTEXT_KEY], moderator, forms.path_id(request, "case_id"), forms.text(form,
                                                                                                               "action"),
                            forms.text(form, "note"))
    except ValidationError as exc:
        return await case_page(request, errors=exc.errors, status=400)
    raise web.HTTPSeeOther("/admin/review")
