"""Public copies for the store/CDN ([storage] public_base_url): a published public or unlisted local work's
derivatives are copied into the store's `published` area with our headers as object metadata (Content-Type,
immutable Cache-Control, NoAI), and the URLs we publish point there (cara_fed/storage.derivative_url).

Everything else — followers-only, held, unpublished, suspended accounts' works, avatars, banners, remote works'
cached copies, originals — never gets a copy, so it is only ever served through us with our access checks. A
change that makes a work non-public (visibility, a moderator's hold, a suspension, deletion) removes its
copies; `cara-fed media sync-public` backfills, and with public_base_url empty it removes every copy.

Called from the event subscribers (federation/subscriptions.py: ArtworkPublished/Updated/Deleted, AccountUpdated) and
from account status changes; each call recomputes what should exist, so it is idempotent and order-tolerant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative, RetiredMedia
from cara_fed.storage import MediaMissing, object_headers

log = logging.getLogger(__name__)
PUBLIC_VISIBILITIES = ("public", "unlisted")


@dataclass
class Synced:
    published: int = 0  # copies written
    removed: int = 0  # copies deleted

    def __str__(self) -> str:
        return f"{self.published} public copies written, {self.removed} removed"


def _wanted(ctx: Context, row: tuple) -> str | None:
    """"noai" or "plain" when the asset's files should have a public copy (and with which headers), else None."""
    asset_state, remote, state, visibility, work_noai, status, account_noai = row
    if not ctx.config.storage.public_base_url or remote or asset_state != "ready" or status != "active":
        return None
    if state != "published" or visibility not in PUBLIC_VISIBILITIES:
        return None
    return "noai" if (work_noai if work_noai is not None else account_noai) else "plain"


async def sync_assets(ctx: Context, where: object) -> Synced:
    """Make the public copies of the artwork images `where` selects (a condition on Artwork/MediaAsset) match
    their works' current state."""
    query = (select(MediaAsset.id, MediaAsset.state, MediaAsset.remote_url.is_not(None), Artwork.state,
                    Artwork.visibility, Artwork.noai, Account.status, Account.noai_default)
             .select_from(ArtworkImage)
             .join(Artwork, Artwork.id == ArtworkImage.artwork_id)
             .join(MediaAsset, MediaAsset.id == ArtworkImage.asset_id)
             .join(Account, Account.id == MediaAsset.account_id)
             .where(where))  # type: ignore[arg-type]
    async with ctx.sessions() as session:
        rows = (await session.execute(query)).all()
        wanted = {row[0]: _wanted(ctx, tuple(row[1:])) for row in rows}
        derivatives = (await session.execute(
            select(MediaDerivative.id, MediaDerivative.asset_id, MediaDerivative.key, MediaDerivative.public_copy)
            .where(MediaDerivative.asset_id.in_(wanted)))).all() if wanted else []
        unwanted = [asset_id for asset_id, want in wanted.items() if want is None]
        retired = list(await session.scalars(select(RetiredMedia.key).where(
            RetiredMedia.asset_id.in_(unwanted)))) if unwanted and ctx.config.storage.public_base_url else []
    done = Synced()
    changed: dict[int, str | None] = {}
    for derivative_id, asset_id, key, copy in derivatives:
        want = wanted[asset_id]
        if want == copy:
            continue
        if want is None:
            await ctx.storage.delete("published", key)
            done.removed += 1
        else:
            try:
                data = await ctx.storage.get("public", key)
            except MediaMissing:
                log.warning("derivative %s is missing from the media store; no public copy", key)
                continue
            await ctx.storage.put("published", key, data, object_headers(key, want == "noai"))
            done.published += 1
        changed[derivative_id] = want
    for key in retired:  # files a re-stamp replaced: their old public copies go with the work's publicity
        await ctx.storage.delete("published", key)
    if changed:
        async with ctx.transaction() as tx:  # pages name the new URLs from now on
            for derivative_id, want in changed.items():
                row = await tx.session.get(MediaDerivative, derivative_id)
                if row is not None:
                    row.public_copy = want
    return done


async def sync_artwork(ctx: Context, artwork_id: int) -> Synced:
    return await sync_assets(ctx, Artwork.id == artwork_id)


async def sync_account(ctx: Context, account_id: int, *_: object) -> Synced:
    """All of an account's works (a suspension, a NoAI default change, a work held or deleted: ArtworkDeleted
    carries only the account)."""
    return await sync_assets(ctx, Artwork.account_id == account_id)


async def sync_all(ctx: Context) -> Synced:
    """`cara-fed media sync-public`: every local work, account by account."""
    async with ctx.sessions() as session:
        accounts = list((await session.scalars(select(Account.id).where(Account.domain.is_(None)))).all())
    total = Synced()
    for account_id in accounts:
        done = await sync_account(ctx, account_id)
        total.published += done.published
        total.removed += done.removed
    return total


async def sync_now(ctx: Context, artwork_id: int) -> None:
    """Right after an edit or a moderator's decision commits, in that request: a work that stopped being public
    loses its copies at once, not when the worker gets to the event. Best effort: the event's subscriber does it
    again (and is retried if the store was down), so a failure here is only logged."""
    if not ctx.config.storage.public_base_url:
        return
    try:
        await sync_artwork(ctx, artwork_id)
    except Exception:
        log.warning("public copies of artwork %s not synced now; the worker will", artwork_id, exc_info=True)


# Event subscribers (federation/subscriptions.py lists them first, so a Create or Update already names the new URLs).
async def artwork_changed(ctx: Context, artwork_id: int) -> None:
    """ArtworkPublished / ArtworkUpdated: visibility, NoAI or the files themselves may have changed."""
    await sync_artwork(ctx, artwork_id)


async def artwork_withdrawn(ctx: Context, account_id: int, artwork_uri: str) -> None:
    """ArtworkDeleted: also sent when a moderator holds a published work (the row stays, no longer public)."""
    await sync_account(ctx, account_id)


async def account_changed(ctx: Context, account_id: int) -> None:
    """AccountUpdated: the NoAI default (works that follow it) may have changed."""
    await sync_account(ctx, account_id)
