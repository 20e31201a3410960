"""Importing a cara-fed portfolio archive into an account. The whole archive is checked first
(services/archive_check.py); a refused one leaves nothing behind. Then a background job recreates each work in
its own transaction (the row's `done` moves in the same transaction, so a job that dies resumes without
duplicates) through the usual upload pipeline, with the archive's dates and protection choices and without
announcing them to followers as new. Should the job fail part way, every work it made is deleted again and the
import is marked failed: nothing half-imported."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Artwork, DataImport
from cara_fed.services import account_email, archive_check, cloaking, projects
from cara_fed.services.artworks import ImportedImage, delete_artwork, recreate_artwork
from cara_fed.services.import_claim import claim_import
from cara_fed.services.media import Upload, check_upload
from cara_fed.states import transition


def imports_dir(ctx: Context) -> Path:
    return ctx.config.data_path / "imports"


def _checker(ctx: Context):  # type: ignore[no-untyped-def]
    def check(data: bytes, name: str) -> None:
        try:
            check_upload(ctx, Upload(data, name), "archive")
        except ValidationError as exc:
            raise archive_check.refuse(exc.errors["archive"]) from None
    return check


def _check(ctx: Context, path: Path) -> archive_check.CheckedArchive:
    media = ctx.config.media
    return archive_check.check_archive(path, ctx.config.portability, media.max_images_per_artwork,
                                       media.max_upload_mb * 1024 * 1024, _checker(ctx))


async def start(ctx: Context, account: Account, upload_path: Path) -> DataImport:
    """Check the uploaded archive whole (in a thread: it reads every original) and queue the import. The file
    is ours from here on: moved under <data_dir>/imports, or deleted when refused."""
    try:
        account_email.require_verified(ctx, account)  # importing publishes works, as uploading does
        checked = await asyncio.to_thread(_check, ctx, upload_path)
        async with ctx.sessions() as session:
            busy = await session.scalar(select(DataImport.id).where(
                DataImport.account_id == account.id, DataImport.state.in_(("queued", "running"))))
        if busy is not None:
            raise archive_check.refuse("An import is still running; wait for it to finish.")
    except BaseException:
        await asyncio.to_thread(upload_path.unlink, missing_ok=True)
        raise
    folder = imports_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.zip"
    await asyncio.to_thread(shutil.move, upload_path, folder / name)
    offered, why = cloaking.offered(ctx)
    # The artist's cloak choice is kept with the work; where the cloak cannot be made here, say so up front.
    notes = [] if offered and not why else [
        {"item": str(w.get("title", ""))[:200],
         "reason": f"Asked for cloaking, which is not available here: {why or 'it is off.'} Imported without it."}
        for w in checked.works if w.get("cloak")]
    async with ctx.transaction(changes_pages=False) as tx:
        row = DataImport(account_id=account.id, kind="archive", total=len(checked.works), payload={"file": name},
                         failures=notes)
        tx.session.add(row)
        await tx.session.flush()
        tx.after_commit(ctx.jobs.enqueue, tasks.IMPORT_ARCHIVE, row.id)
    return row


def _dates(work: dict[str, Any]) -> dict[str, datetime | None]:
    return {key: datetime.fromisoformat(work[key]) if work.get(key) else None
            for key in ("created_at", "published_at", "edited_at", "pinned_at")}


async def _recreate(ctx: Context, import_id: int, account: Account, archive: zipfile.ZipFile, index: int,
                    work: dict[str, Any]) -> int | None:
    budget = [ctx.config.portability.archive_max_uncompressed_mb * 1024 * 1024]
    images = []
    for image in work["images"]:
        data = await asyncio.to_thread(archive_check.read_member, archive, archive.getinfo(image["file"]), budget)
        content_type = check_upload(ctx, Upload(data, image["file"]), "archive")
        images.append(ImportedImage(Upload(data, image.get("name") or image["file"], image.get("alt_text", "")),
                                    content_type, tuple(image.get("focal_point", [0.0, 0.0])),  # type: ignore[arg-type]
                                    bool(image.get("focal_chosen"))))
    async with ctx.transaction() as tx:
        row = await tx.session.get(DataImport, import_id)
        if row is None or row.state != "running" or row.done != index:
            return None  # a duplicate job got here first
        artwork = await recreate_artwork(
            ctx, tx, account, archive_check.artwork_input(work), images, import_id=import_id, dates=_dates(work),
            ai_label=work.get("ai_label"), ai_label_by=work.get("ai_label_by") or "remote")
        row.done, row.state_changed_at = index + 1, utcnow()  # progress, and the sweep's heartbeat
        row.payload = {**row.payload, "ids": {**row.payload.get("ids", {}), str(work.get("id")): artwork.id}}
    return artwork.id


async def _projects(ctx: Context, account: Account, manifest: dict[str, Any], ids: dict[str, int]) -> None:
    for project in manifest.get("projects") or []:
        if not isinstance(project, dict):
            continue
        works = [ids[str(w)] for w in project.get("works", []) if str(w) in ids]
        cover = ids.get(str(project.get("cover_work")))
        await projects.save_project(ctx, account, str(project.get("title", ""))[:200] or "Project",
                                    str(project.get("description", "")), works,
                                    cover if cover in works else None)


async def import_archive(ctx: Context, import_id: int) -> None:
    """Job: recreate the works from where the last run stopped; on any failure undo the whole import."""
    claimed = await claim_import(ctx, import_id, "archive")
    if claimed is None:
        return
    account, path, start_at = claimed.account, imports_dir(ctx) / claimed.payload["file"], claimed.done
    try:
        checked = await asyncio.to_thread(_check, ctx, path)  # the same checks again: the file is ours, but cheap
        with zipfile.ZipFile(path) as archive:
            for index in range(start_at, len(checked.works)):
                if await _recreate(ctx, int(import_id), account, archive, index, checked.works[index]) is None:
                    return
        async with ctx.sessions() as session:
            ids = (await session.get(DataImport, int(import_id))).payload.get("ids", {})
        await _projects(ctx, account, checked.manifest, ids)
    except Exception as exc:
        await _undo(ctx, int(import_id), account, exc)
        return
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataImport, int(import_id))
        transition(row, "done")
    path.unlink(missing_ok=True)


async def _undo(ctx: Context, import_id: int, account: Account, exc: Exception) -> None:
    async with ctx.sessions() as session:
        made = list((await session.scalars(select(Artwork.id).where(Artwork.import_id == import_id))).all())
    for artwork_id in made:
        await delete_artwork(ctx, account, artwork_id)
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataImport, import_id)
        transition(row, "failed")
        row.done = 0
        row.error = (exc.errors.get("archive") if isinstance(exc, ValidationError) else None) or \
            f"The import stopped ({exc.__class__.__name__}); nothing was kept. Try again."
        file = row.payload.get("file")
    if file:
        (imports_dir(ctx) / file).unlink(missing_ok=True)
