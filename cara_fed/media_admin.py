"""`cara-fed media setup|migrate`: prepare the configured store, and move existing media between backends."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative
from cara_fed.storage import MediaStore, object_headers

log = logging.getLogger(__name__)
# The `published` area is not copied: it holds copies of public files, rebuilt by `cara-fed media sync-public`.
MIGRATED = ("private", "public")


@dataclass
class MigrateReport:
    copied: int = 0
    skipped: int = 0  # already in the target (a migration can be stopped and run again)
    deleted: int = 0  # from the source, with --delete-source

    def __str__(self) -> str:
        return f"{self.copied} copied, {self.skipped} already there, {self.deleted} deleted from the source"


async def setup(store: MediaStore) -> str:
    ensure = getattr(store, "ensure_bucket", None)
    if ensure is None:
        return f"{store.name}: nothing to set up"
    created = await ensure()
    return f"{store.name}: bucket {'created' if created else 'already there'}"


async def migrate(source: MediaStore, target: MediaStore, *, delete_source: bool = False,
                  concurrency: int = 8, plain_keys: frozenset[str] = frozenset()) -> MigrateReport:
    """Copy every object of both areas from `source` to `target` (same keys: the database needs no change).
    Idempotent: what the target already holds is skipped. Public objects get their headers as metadata, NoAI
    unless `plain_keys` (derivatives of works that opted out: `plain_keys(ctx)`) names them."""
    report = MigrateReport()
    limit = asyncio.Semaphore(concurrency)

    async def one(area: str, key: str) -> None:
        async with limit:
            if await target.exists(area, key):
                report.skipped += 1
            else:
                data = await source.get(area, key)
                headers = object_headers(key, key not in plain_keys) if area == "public" else None
                await target.put(area, key, data, headers)
                report.copied += 1
            if delete_source:
                await source.delete(area, key)
                report.deleted += 1

    for area in MIGRATED:
        batch: list[asyncio.Task] = []
        async for key in source.keys(area):
            batch.append(asyncio.create_task(one(area, key)))
            if len(batch) >= 256:
                await asyncio.gather(*batch)
                batch = []
        await asyncio.gather(*batch)
    return report


async def plain_keys(ctx: Context) -> frozenset[str]:
    """Derivative keys whose work (or, for images no work holds, account) has NoAI off: the few, since NoAI is
    the default."""
    noai = func.coalesce(Artwork.noai, Account.noai_default)
    query = (select(MediaDerivative.key).join(MediaAsset, MediaAsset.id == MediaDerivative.asset_id)
             .join(Account, Account.id == MediaAsset.account_id)
             .outerjoin(ArtworkImage, ArtworkImage.asset_id == MediaAsset.id)
             .outerjoin(Artwork, Artwork.id == ArtworkImage.artwork_id)
             .where(noai.is_(False)))
    async with ctx.sessions() as session:
        return frozenset((await session.scalars(query)).all())
