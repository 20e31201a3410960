"""Settings → Your data: Mastodon-compatible CSV exports, the portfolio archive (build, progress, owner-only
download) and imports (following CSV, portfolio archive). The work happens in services and worker jobs; these
handlers check who asks and turn refusals into 400s with the service's message."""

from __future__ import annotations

import secrets

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.errors import ValidationError
from cara_fed.models import DataImport
from cara_fed.services import archive_export, archive_import, data_csv, follow_import
from web import forms
from web.auth import require_login
from web.limits import accepts_uploads
from web.render import render

routes = web.RouteTableDef()
CHUNK = 1024 * 1024


async def _imports(request: web.Request, account) -> list[DataImport]:  # type: ignore[no-untyped-def]
    async with request.app[CONTEXT_KEY].sessions() as session:
        return list((await session.scalars(select(DataImport).where(DataImport.account_id == account.id)
                                           .order_by(DataImport.id.desc()).limit(10))).all())


async def _page(request: web.Request, errors: dict[str, str] | None = None, status: int = 200) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    return render(request, "settings_data.html", {
        "account": account, "exports": await archive_export.exports_of(ctx, account),
        "imports": await _imports(request, account), "errors": errors or {}, "limits": ctx.config.portability,
        "csv_names": data_csv.EXPORTS}, status=status)


@routes.get("/settings/data", name="settings_data")
async def data_page(request: web.Request) -> web.Response:
    return await _page(request)


@routes.get(r"/settings/data/{name:[a-z_]+}.csv")
async def export_csv(request: web.Request) -> web.Response:
    account = require_login(request)
    name = request.match_info["name"]
    if name not in data_csv.EXPORTS:
        raise web.HTTPNotFound(text="No such export.")
    body = await data_csv.export_csv(request.app[CONTEXT_KEY], account, name)
    return web.Response(text=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "private, no-store"})


@routes.post("/settings/data/archive")
async def request_archive(request: web.Request) -> web.Response:
    account = require_login(request)
    try:
        await archive_export.request(request.app[CONTEXT_KEY], account)
    except ValidationError as exc:
        return await _page(request, exc.errors, status=400)
    raise web.HTTPSeeOther("/settings/data")


@routes.get(r"/settings/data/archive/{export_id:\d+}.zip")
async def download_archive(request: web.Request) -> web.StreamResponse:
    account = require_login(request)
    found = await archive_export.download_path(request.app[CONTEXT_KEY], account, forms.path_id(request, "export_id"))
    if found is None:  # someone else's, expired, or not ready: the same answer, so ids reveal nothing
        raise web.HTTPNotFound(text="No such archive (archives can be downloaded for a limited time).")
    path, row = found
    return web.FileResponse(path, headers={
        "Content-Type": "application/zip", "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="portfolio-{account.username}-{row.id}.zip"'})


@routes.get(r"/settings/data/archive/{export_id:\d+}")
async def archive_status(request: web.Request) -> web.Response:
    """The progress the page polls: {"state", "done", "total"} (the owner's only)."""
    account = require_login(request)
    rows = {row.id: row for row in await archive_export.exports_of(request.app[CONTEXT_KEY], account)}
    row = rows.get(forms.path_id(request, "export_id"))
    if row is None:
        raise web.HTTPNotFound(text="No such archive.")
    return web.json_response({"state": row.state, "done": row.done, "total": row.total, "error": row.error,
                              "download": f"/settings/data/archive/{row.id}.zip" if row.state == "ready" else None})


@routes.get(r"/settings/data/imports/{import_id:\d+}")
async def import_status(request: web.Request) -> web.Response:
    account = require_login(request)
    rows = {row.id: row for row in await _imports(request, account)}
    row = rows.get(forms.path_id(request, "import_id"))
    if row is None:
        raise web.HTTPNotFound(text="No such import.")
    return web.json_response({"kind": row.kind, "state": row.state, "done": row.done, "total": row.total,
                              "failures": row.failures, "error": row.error})


def _file(form, name: str) -> web.FileField:  # type: ignore[no-untyped-def]
    field = form.get(name)
    if not isinstance(field, web.FileField) or not field.filename:
        raise ValidationError({name: "Choose a file to import."})
    return field


@routes.post("/settings/data/import/following")
@accepts_uploads
async def import_following(request: web.Request) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    try:
        field = _file(await request.post(), "csv")
        data = field.file.read(ctx.config.portability.csv_max_kb * 1024 + 1)
        row = await follow_import.start(ctx, account, data)
    except ValidationError as exc:
        return await _page(request, exc.errors, status=400)
    raise web.HTTPSeeOther(f"/settings/data#import-{row.id}")


@routes.post("/settings/data/import/archive")
@accepts_uploads
async def import_archive(request: web.Request) -> web.Response:
    account = require_login(request)
    ctx = request.app[CONTEXT_KEY]
    limit = ctx.config.portability.archive_max_mb * 1024 * 1024
    try:
        field = _file(await request.post(), "archive")
        folder = archive_import.imports_dir(ctx)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"upload-{secrets.token_hex(16)}.zip"
        copied = 0
        with target.open("wb") as out:  # aiohttp spooled the upload to disk; copy it in chunks, capped
            while chunk := field.file.read(CHUNK):
                copied += len(chunk)
                if copied > limit:
                    out.close()
                    target.unlink(missing_ok=True)
                    raise ValidationError({"archive": f"This archive is larger than "
                                                      f"{ctx.config.portability.archive_max_mb:,} MiB."})
                out.write(chunk)
        row = await archive_import.start(ctx, account, target)
    except ValidationError as exc:
        return await _page(request, exc.errors, status=400)
    raise web.HTTPSeeOther(f"/settings/data#import-{row.id}")



