"""Portfolio archives: a zip of the artist's originals, every work's metadata (manifest.json, versioned) and the
AS2 outbox (outbox.json, serialized by the federation edge, which runs the job: services never build AS JSON).

The zip is written straight to a file under <data_dir>/exports, one original at a time, never held in memory;
only the owner may download it, for [portability] export_days, then retention deletes the file and the row."""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import secrets
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cara_fed import tasks, urls
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Artwork, DataExport, Project
from cara_fed.states import transition

FORMAT = "cara-fed-portfolio"
VERSION = 1
MANIFEST = "manifest.json"
OUTBOX = "outbox.json"


def exports_dir(ctx: Context) -> Path:
    return ctx.config.data_path / "exports"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def request(ctx: Context, account: Account) -> DataExport:
    async with ctx.transaction(changes_pages=False) as tx:
        busy = await tx.session.scalar(select(DataExport.id).where(
            DataExport.account_id == account.id, DataExport.state.in_(("queued", "building"))))
        if busy is not None:
            raise ValidationError({"export": "An archive is being built already; it will be ready shortly."})
        row = DataExport(account_id=account.id)
        tx.session.add(row)
        await tx.session.flush()
        tx.after_commit(ctx.jobs.enqueue, tasks.BUILD_EXPORT, row.id)
    return row


async def exports_of(ctx: Context, account: Account) -> list[DataExport]:
    async with ctx.sessions() as session:
        return list((await session.scalars(select(DataExport).where(DataExport.account_id == account.id)
                                           .order_by(DataExport.id.desc()).limit(10))).all())


async def download_path(ctx: Context, account: Account, export_id: int) -> tuple[Path, DataExport] | None:
    """The archive file, if it is this account's, ready and not expired (anyone else: None, answered 404)."""
    async with ctx.sessions() as session:
        row = await session.get(DataExport, export_id)
    if (row is None or row.account_id != account.id or row.state != "ready" or row.file_name is None
            or (row.expires_at is not None and row.expires_at < utcnow())):
        return None
    path = exports_dir(ctx) / row.file_name
    return (path, row) if path.is_file() else None


def _work_record(artwork: Artwork) -> dict[str, Any]:
    images = []
    for image in artwork.images:
        asset = image.asset
        extension = mimetypes.guess_extension(asset.original_type or "") or ".bin"
        images.append({"file": f"originals/{artwork.id}-{image.position}{extension}", "alt_text": image.alt_text,
                       "focal_point": [asset.focal_x, asset.focal_y], "focal_chosen": asset.focal_chosen,
                       "content_type": asset.original_type, "name": asset.original_name})
    return {"id": artwork.id, "title": artwork.title, "description": artwork.description, "tags": artwork.tag_names,
            "field": artwork.field, "medium": artwork.medium, "software": list(artwork.software or []),
            "content_warning": artwork.content_warning, "sensitive": artwork.sensitive, "license": artwork.license,
            "visibility": artwork.visibility, "noai": artwork.noai, "ai_label": artwork.ai_label,
            "ai_label_by": artwork.ai_label_by, "cloak": artwork.cloak, "comment_policy": artwork.comment_policy,
            "state": artwork.state, "created_at": _iso(artwork.created_at),
            "published_at": _iso(artwork.published_at), "edited_at": _iso(artwork.edited_at),
            "pinned_at": _iso(artwork.pinned_at), "images": images}


async def _load(ctx: Context, export_id: int) -> tuple[Account, list[int]] | None:
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataExport, export_id)
        if row is None or row.state != "queued":
            return None
        transition(row, "building")
        account = await tx.session.get(Account, row.account_id)
        ids = list((await tx.session.scalars(select(Artwork.id).where(
            Artwork.account_id == account.id, Artwork.uri.is_(None)).order_by(Artwork.created_at, Artwork.id))).all())
        row.total, row.done = len(ids), 0
    return account, ids


async def write_archive(ctx: Context, export_id: int, outbox: dict[str, Any]) -> None:
    """Job body (the federation edge passes the serialized outbox): write the zip, then mark it ready."""
    loaded = await _load(ctx, export_id)
    if loaded is None:
        return
    account, ids = loaded
    folder = exports_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{export_id}-{secrets.token_hex(16)}.zip"
    partial = folder / f"{export_id}.part"  # a restarted build overwrites it
    try:
        manifest = await _write_zip(ctx, export_id, account, ids, outbox, partial)
        partial.rename(folder / name)
    except Exception as exc:
        partial.unlink(missing_ok=True)
        async with ctx.transaction(changes_pages=False) as tx:
            row = await tx.session.get(DataExport, export_id)
            if row is not None and row.state == "building":
                transition(row, "failed")
                row.error = f"The archive could not be written: {exc.__class__.__name__}"
        raise
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(DataExport, export_id)
        transition(row, "ready")
        row.file_name, row.size = name, (folder / name).stat().st_size
        row.done = len(manifest["works"])
        row.expires_at = utcnow() + timedelta(days=ctx.config.portability.export_days)


async def _write_zip(ctx: Context, export_id: int, account: Account, ids: list[int], outbox: dict[str, Any],
                     path: Path) -> dict[str, Any]:
    works: list[dict[str, Any]] = []
    archive = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    try:
        for number, artwork_id in enumerate(ids, start=1):
            async with ctx.sessions() as session:
                artwork = await session.get(Artwork, artwork_id)
                if artwork is None:
                    continue
                record = _work_record(artwork)
                keys = [image.asset.original_key for image in artwork.images]
            for image, key in zip(record["images"], keys, strict=True):
                data = await ctx.storage.get("private", key) if key else b""
                image["sha256"], image["size"] = hashlib.sha256(data).hexdigest(), len(data)
                # Images are compressed already: stored, not deflated (and one original in memory at a time).
                await asyncio.to_thread(archive.writestr, image["file"], data, zipfile.ZIP_STORED)
                del data
            works.append(record)
            async with ctx.transaction(changes_pages=False) as tx:
                row = await tx.session.get(DataExport, export_id)
                row.done, row.state_changed_at = number, utcnow()
        async with ctx.sessions() as session:
            projects = (await session.scalars(select(Project).where(Project.account_id == account.id)
                                              .order_by(Project.position, Project.id))).all()
            project_records = [{"title": p.title, "description": p.description, "position": p.position,
                                "cover_work": p.cover_artwork_id, "works": [i.artwork_id for i in p.items]}
                               for p in projects]
        pinned = sorted((w for w in works if w["pinned_at"]), key=lambda w: w["pinned_at"])
        manifest = {"format": FORMAT, "version": VERSION, "exported_at": _iso(utcnow()),
                    "account": {"username": account.username, "name": account.display_name,
                                "actor": ctx.url(urls.actor(account.username))},
                    "works": works, "projects": project_records, "pinned": [w["id"] for w in pinned]}
        await asyncio.to_thread(archive.writestr, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        await asyncio.to_thread(archive.writestr, OUTBOX, json.dumps(outbox, ensure_ascii=False, indent=1))
    finally:
        archive.close()
    return manifest


async def prune_expired(ctx: Context, now: datetime) -> int:
    """Retention: archives past their download window (and failed builds as old) go, file first."""
    cutoff = now - timedelta(days=ctx.config.portability.export_days)
    async with ctx.transaction(changes_pages=False) as tx:
        rows = (await tx.session.scalars(select(DataExport).where(
            (DataExport.expires_at < now) | ((DataExport.state == "failed") & (DataExport.created_at < cutoff)))
            .limit(500))).all()
        for row in rows:
            if row.file_name:
                (exports_dir(ctx) / row.file_name).unlink(missing_ok=True)
            await tx.session.delete(row)
    return len(rows)
