"""The artist's own tools: upload, edit, delete, pin, projects, processing status."""

from __future__ import annotations

from aiohttp import web

from cara_fed import urls
from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import Artwork, Project
from cara_fed.numbers import parse_id
from cara_fed.services import artworks, cloaking, projects, upload_drafts
from cara_fed.services.media import Upload
from cara_fed.taxonomy import FIELDS, MEDIUMS, SOFTWARE_SUGGESTIONS
from web import forms
from web.auth import require_login
from web.limits import accepts_uploads
from web.render import render

routes = web.RouteTableDef()


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _artwork_form(request: web.Request, account, work=None, form=None, errors=None, status=200, kept=()):  # type: ignore[no-untyped-def]
    ctx = request.app[CONTEXT_KEY]
    offered, why = cloaking.offered(ctx)
    return render(request, "artwork_form.html", {
        "cloak_offered": offered, "cloak_unavailable": why, "cloak_default": account.cloak_default,
        "cloak_psnr": ctx.config.cloak.target_psnr,
        "cloak_minutes": "a minute or two" if ctx.config.cloak.engine == "adversarial" else "a few minutes",
        "work": work, "form": form or {}, "errors": errors or {}, "FIELDS": FIELDS, "MEDIUMS": MEDIUMS,
        "SOFTWARE": SOFTWARE_SUGGESTIONS, "max_images": request.app[CONTEXT_KEY].config.media.max_images_per_artwork,
        "max_mb": request.app[CONTEXT_KEY].config.media.max_upload_mb, "noai_default": account.noai_default,
        "kept": list(kept),
    }, status=status)


@routes.get("/upload", name="upload")
async def upload_form(request: web.Request) -> web.Response:
    return _artwork_form(request, require_login(request))


@routes.post("/upload")
@accepts_uploads
async def upload(request: web.Request) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    form = await request.post()
    kept, removed = forms.kept_images(form)  # images a refused form kept (no JavaScript), minus the removed
    await upload_drafts.discard(ctx, account, removed)
    added = forms.uploads(form)
    try:
        images = await upload_drafts.load(ctx, account, kept) + added
        work = await artworks.create_artwork(ctx, account, forms.artwork_input(form), images)
    except ValidationError as exc:
        if _wants_json(request):  # upload.js: the files are still in the page
            return web.json_response({"errors": exc.errors}, status=400)
        return await _refused_upload(request, account, form, kept, added, exc.errors)
    await upload_drafts.discard(ctx, account, [draft.id for draft in kept])
    location = urls.artwork(account.username, work.id)
    if _wants_json(request):
        return web.json_response({"id": work.id, "url": location, "status_url": urls.artwork_status(work.id)},
                                 status=202)
    raise web.HTTPSeeOther(location)


async def _refused_upload(request: web.Request, account, form, kept: list[upload_drafts.Draft],  # type: ignore[no-untyped-def]
                          added: list[Upload], errors: dict[str, str]) -> web.Response:
    """The upload form again, with its errors: a browser cannot refill the file input, so the chosen files are
    kept server-side (services/upload_drafts.py) and the form lists them, to be used by the next submit."""
    ctx = request.app[CONTEXT_KEY]
    still = await upload_drafts.described(ctx, account, kept)
    new, refused = await upload_drafts.keep(ctx, account, added)
    problems = [errors["images"]] if "images" in errors else []
    problems += [reason for reason in refused if reason not in problems]
    if problems:
        errors = {**errors, "images": " ".join(problems)}
    shown = {k: v for k, v in form.items() if not k.startswith(("alt_", "draft", "remove_draft_"))}
    return _artwork_form(request, account, form=shown, errors=errors, status=400, kept=still + new)


async def _own_artwork(request: web.Request, account) -> Artwork:  # type: ignore[no-untyped-def]
    async with request.app[CONTEXT_KEY].sessions() as session:
        work = await session.get(Artwork, forms.path_id(request, "artwork_id"))
    if work is None or work.account_id != account.id:
        raise web.HTTPNotFound(text="This artwork does not exist or is not yours.")
    return work


@routes.get(r"/artworks/{artwork_id:\d+}/status", name="artwork_status")
async def status(request: web.Request) -> web.Response:
    work = await _own_artwork(request, require_login(request))
    images = [{"id": i.id, "state": i.asset.state, "error": i.asset.error_message, "progress": i.asset.progress,
               "eta_seconds": i.asset.eta_seconds} for i in work.images]
    return web.json_response({"id": work.id, "state": work.state, "images": images},
                             headers={"Cache-Control": "no-store"})


@routes.post(r"/artworks/{artwork_id:\d+}/cloak/{action:cancel|retry|publish}", name="cloak_action")
async def cloak_action(request: web.Request) -> web.Response:
    """Cancel a running cloak, retry a stopped one, or publish without it (the artist's explicit choice)."""
    account = require_login(request)
    work = await _own_artwork(request, account)
    action = {"cancel": cloaking.cancel, "retry": cloaking.retry, "publish": cloaking.publish_uncloaked}
    try:
        await action[request.match_info["action"]](request.app[CONTEXT_KEY], account, work.id)
    except ValidationError as exc:
        raise web.HTTPConflict(text=" ".join(exc.errors.values())) from None
    raise web.HTTPSeeOther(urls.artwork(account.username, work.id))


@routes.get(r"/artworks/{artwork_id:\d+}/edit", name="edit_artwork")
async def edit_form(request: web.Request) -> web.Response:
    account = require_login(request)
    work = await _own_artwork(request, account)
    return _artwork_form(request, account, work=work)


@routes.post(r"/artworks/{artwork_id:\d+}/edit")
async def edit(request: web.Request) -> web.Response:
    account = require_login(request)
    work = await _own_artwork(request, account)
    form = await request.post()
    # Only the alt boxes the form sent: a field left out is not a request to blank the description.
    alts = {image.id: forms.text(form, f"alt_image_{image.id}") for image in work.images
            if f"alt_image_{image.id}" in form}
    images = forms.image_edit(form, [image.id for image in work.images])
    focus = forms.image_focus(form, [image.id for image in work.images])
    try:
        await artworks.update_artwork(request.app[CONTEXT_KEY], account, work.id, forms.artwork_input(form), alts,
                                      images,
                                      focus)
    except ValidationError as exc:
        return _artwork_form(request, account, work=work, form=dict(form), errors=exc.errors, status=400)
    raise web.HTTPSeeOther(urls.artwork(account.username, work.id))


@routes.post(r"/artworks/{artwork_id:\d+}/delete", name="delete_artwork")
async def delete(request: web.Request) -> web.Response:
    account = require_login(request)
    await artworks.delete_artwork(request.app[CONTEXT_KEY], account, forms.path_id(request, "artwork_id"))
    raise web.HTTPSeeOther(urls.profile(account.username))


@routes.post(r"/artworks/{artwork_id:\d+}/pin", name="pin_artwork")
async def pin(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    await artworks.set_pinned(request.app[CONTEXT_KEY], account, forms.path_id(request, "artwork_id"),
                              forms.checkbox(form, "pinned"))
    raise web.HTTPSeeOther(urls.artwork(account.username, request.match_info["artwork_id"]))


async def _project_form(request: web.Request, account, project=None, form=None, errors=None, status=200):  # type: ignore[no-untyped-def]
    from cara_fed import queries

    async with request.app[CONTEXT_KEY].sessions() as session:
        works = (await queries.portfolio(session, account, account, limit=200)).items
    return render(request, "project_form.html", {"project": project, "works": works, "form": form or {},
                                                 "errors": errors or {}}, status=status)


@routes.get("/projects/new", name="new_project")
async def new_project_form(request: web.Request) -> web.Response:
    return await _project_form(request, require_login(request))


@routes.get(r"/projects/{project_id:\d+}/edit", name="edit_project")
async def edit_project_form(request: web.Request) -> web.Response:
    account = require_login(request)
    async with request.app[CONTEXT_KEY].sessions() as session:
        project = await session.get(Project, forms.path_id(request, "project_id"))
    if project is None or project.account_id != account.id:
        raise web.HTTPNotFound(text="This project does not exist or is not yours.")
    return await _project_form(request, account, project=project)


@routes.post("/projects/new")
@routes.post(r"/projects/{project_id:\d+}/edit")
async def save_project(request: web.Request) -> web.Response:
    account = require_login(request)
    form = await request.post()
    project_id = forms.path_id(request, "project_id") if "project_id" in request.match_info else None
    cover = forms.text(form, "cover")
    try:
        project = await projects.save_project(
            request.app[CONTEXT_KEY], account, forms.text(form, "title"), forms.text(form, "description"),
            forms.int_values(form.getall("artworks", [])), parse_id(cover), project_id)
    except ValidationError as exc:
        return await _project_form(request, account, form=dict(form), errors=exc.errors, status=400)
    raise web.HTTPSeeOther(urls.project(account.username, project.id))


@routes.post(r"/projects/{project_id:\d+}/delete", name="delete_project")
async def delete_project(request: web.Request) -> web.Response:
    account = require_login(request)
    await projects.delete_project(request.app[CONTEXT_KEY], account, forms.path_id(request, "project_id"))
    raise web.HTTPSeeOther(urls.profile(account.username))


@routes.get(r"/artworks/{artwork_id:\d+}/deliveries", name="artwork_deliveries")
async def deliveries(request: web.Request) -> web.Response:
    """Where this artwork went: one row per receiving server and activity, with its delivery state."""
    from cara_fed.services.deliveries import delivery_log

    work = await _own_artwork(request, require_login(request))
    log = await delivery_log(request.app[CONTEXT_KEY], work.id)
    summary: dict[str, int] = {}
    for entry in log:
        summary[entry.state] = summary.get(entry.state, 0) + 1
    return render(request, "deliveries.html", {"work": work, "log": log, "summary": summary})
