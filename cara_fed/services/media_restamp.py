"""The restamp_artwork job: a local work's served files re-marked (new XMP, pixels untouched) after its NoAI
choice, licence or AI label changed."""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.events import ArtworkUpdated, emit
from cara_fed.models import Artwork, MediaDerivative
from cara_fed.services import review
from cara_fed.services.media import retire_public_file
from cara_fed.services.media_pipeline import policy_for
from cara_fed.storage import MediaMissing, content_key, object_headers
from protection.mark import StampError, build_xmp, stamp_xmp

log = logging.getLogger(__name__)


async def restamp_artwork(ctx: Context, artwork_id: int, edited: bool = False) -> int:
    """Job: write the XMP a local work's served files should carry now (after the NoAI choice, the licence or
    the AI label changed) into copies of its derivatives, pixels untouched. A changed file gets a new
    (content-addressed) key, so caches that hold the old one for a year were never lied to; the old objects are
    retired (served a while longer, then deleted), and a published work's followers get an Update with the new
    URLs. `edited`: the edit that queued this changed the Note too and left its Update to this job, so the
    Update goes even when no file changed (one that cannot carry XMP, a missing one): followers get one Update,
    with the final URLs. Returns how many files changed."""
    plans: list[tuple[bytes, bool, list[tuple[int, str, int, int]]]] = []
    async with ctx.sessions() as session:
        artwork = await session.get(Artwork, artwork_id)
        if artwork is None or artwork.uri is not None:
            return 0  # gone, or remote: remote copies keep the origin's markers
        for image in artwork.images:
            asset = image.asset
            if asset.state != "ready" or not asset.derivatives:
                continue
            policy = await policy_for(ctx, asset, session)
            policy = await review.derivative_source_type(session, ctx.config, artwork, policy, asset.verdict)
            plans.append((build_xmp(policy), policy.noai,
                          [(d.id, d.key, asset.id, d.long_edge) for d in asset.derivatives]))
    changed: dict[int, tuple[str, str, int]] = {}  # derivative id -> (old key, new key, size)
    for xmp, noai, derivatives in plans:
        for derivative_id, key, asset_id, long_edge in derivatives:
            try:
                data = await ctx.storage.get("public", key)
            except MediaMissing:
                log.warning("derivative %s is missing from the media store", key)
                continue
            try:
                stamped = stamp_xmp(data, xmp)
            except StampError:
                log.warning("derivative %s cannot carry XMP; left as it is", key)
                continue
            if stamped != data:
                suffix = "." + key.rsplit(".", 1)[-1]
                fresh = content_key(stamped, suffix, salt=f"{asset_id}:{long_edge}{suffix}")
                await ctx.storage.put("public", fresh, stamped, object_headers(fresh, noai))
                changed[derivative_id] = (key, fresh, len(stamped))
    if not changed and not edited:
        return 0
    async with ctx.transaction(changes_pages=bool(changed)) as tx:
        for derivative_id, (old, fresh, size) in changed.items():
            row = await tx.session.get(MediaDerivative, derivative_id)
            if row is None or row.key != old:  # deleted, or restamped by another job meanwhile: ours is spare,
                if row is None or row.key != fresh:  # unless that job wrote the very same bytes (same key)
                    tx.after_commit(ctx.storage.delete, "public", fresh)
                continue
            row.key, row.size = fresh, size
            row.public_copy = None  # the new key has no public copy yet: the ArtworkUpdated below makes it
            await retire_public_file(ctx, tx, row.asset_id, old)
        artwork = await tx.session.get(Artwork, artwork_id)
        if artwork is not None and artwork.state == "published":
            emit(ctx, tx, ArtworkUpdated(artwork_id))
    return len(changed)
