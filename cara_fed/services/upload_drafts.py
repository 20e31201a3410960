"""Images kept across a refused upload form (no JavaScript): a browser cannot refill a file input, so when the
upload page comes back with an error (no title, say), the files it carried are kept here and the re-shown form
names them by id; the next submit uses them and they go.

A kept image is a MediaAsset with purpose and state "draft": its original is stored privately, nothing processes
it (the media sweep only looks at uploaded/processing), no derivative exists so no URL serves it, and no artwork or
client-API post can claim it (they take purpose "artwork" only). Retention deletes drafts nobody came back for
after DRAFT_HOURS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account, MediaAsset
from cara_fed.services.media import Upload, check_upload
from cara_fed.storage import MediaMissing, new_key

DRAFT = "draft"
DRAFT_HOURS = 24
MAX_KEPT = 50  # ids read from one form; more than any artwork may have


@dataclass(frozen=True)
class Draft:
    id: int
    filename: str
    alt_text: str = ""


async def keep(ctx: Context, account: Account, uploads: list[Upload]) -> tuple[list[Draft], list[str]]:
    """Store the files that could become images (the checks that need no decoding pass); returns the kept ones
    and, for the others, "name: reason" so the form can say why they were not kept."""
    kept: list[Draft] = []
    refused: list[str] = []
    for upload in uploads:
        try:
            content_type = check_upload(ctx, upload, "images")
        except ValidationError as exc:
            refused.append(exc.errors["images"])
            continue
        key = new_key()
        await ctx.storage.put("private", key, upload.data)
        async with ctx.transaction(changes_pages=False) as tx:
            asset = MediaAsset(account_id=account.id, purpose=DRAFT, state=DRAFT, original_key=key,
                               original_type=content_type, original_size=len(upload.data),
                               original_name=upload.filename[:255], description=upload.alt_text.strip())
            tx.session.add(asset)
            await tx.session.flush()
            kept.append(Draft(asset.id, asset.original_name, asset.description))
    return kept, refused


async def _own(ctx: Context, account: Account, ids: list[int]) -> dict[int, MediaAsset]:
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(MediaAsset).where(
            MediaAsset.id.in_(ids[:MAX_KEPT]), MediaAsset.account_id == account.id,
            MediaAsset.purpose == DRAFT))).all()
    return {row.id: row for row in rows}


async def load(ctx: Context, account: Account, chosen: list[Draft]) -> list[Upload]:
    """The kept files as uploads again, in the given order with the given alt text. A draft that is gone (not
    the account's, or deleted after DRAFT_HOURS) is a form error: choose the file again."""
    if not chosen:
        return []
    rows = await _own(ctx, account, [d.id for d in chosen])
    uploads: list[Upload] = []
    for draft in chosen:
        row = rows.get(draft.id)
        try:
            data = await ctx.storage.get("private", row.original_key or "") if row is not None else None
        except MediaMissing:
            data = None
        if row is None or data is None:
            raise ValidationError({"images": f"{draft.filename or 'An image'} is no longer kept (kept images go "
                                             f"after {DRAFT_HOURS} hours); please choose it again."})
        uploads.append(Upload(data=data, filename=row.original_name, alt_text=draft.alt_text))
    return uploads


async def described(ctx: Context, account: Account, chosen: list[Draft]) -> list[Draft]:
    """The drafts that still exist, with their file names, in the given order (for re-showing the form)."""
    rows = await _own(ctx, account, [d.id for d in chosen])
    return [Draft(d.id, rows[d.id].original_name, d.alt_text) for d in chosen if d.id in rows]


async def discard(ctx: Context, account: Account, ids: list[int]) -> None:
    """Delete the account's drafts among `ids` (used, or removed by the artist) and their files."""
    if not ids:
        return
    async with ctx.transaction(changes_pages=False) as tx:
        rows = (await tx.session.scalars(select(MediaAsset).where(
            MediaAsset.id.in_(ids[:MAX_KEPT]), MediaAsset.account_id == account.id,
            MediaAsset.purpose == DRAFT))).all()
        for row in rows:
            await tx.session.delete(row)
            if row.original_key:
                tx.after_commit(ctx.storage.delete, "private", row.original_key)


async def prune(ctx: Context, now: datetime) -> int:
    """Retention: drafts older than DRAFT_HOURS (the artist left the form) and their files."""
    total = 0
    while True:
        async with ctx.transaction(changes_pages=False) as tx:
            rows = (await tx.session.scalars(select(MediaAsset).where(
                MediaAsset.purpose == DRAFT, MediaAsset.created_at < now - timedelta(hours=DRAFT_HOURS))
                .limit(500))).all()
            for row in rows:
                await tx.session.delete(row)
                if row.original_key:
                    tx.after_commit(ctx.storage.delete, "private", row.original_key)
        total += len(rows)
        if len(rows) < 500:
            return total
