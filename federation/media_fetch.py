"""Job `fetch_remote_media(ctx, asset_id)`: copy a remote image into private storage, then the ordinary
protection pipeline takes over (`remote.store_fetched_original` queues protect_media).

Permanent failures (private address, too large, not an image, a 4xx) reject the asset with the reason,
which settles its artwork; transient ones (timeouts, 5xx, connection errors) raise so the queue retries.
"""

from __future__ import annotations

from cara_fed.context import Context
from cara_fed.models import MediaAsset
from cara_fed.services import remote
from federation.net import FetchError, fetch
from protection import MediaRejected, sniff_image_type

TIMEOUT = 30
# Some servers label images application/octet-stream; the bytes decide (magic-number sniffing below).
MEDIA_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


async def _pending_url(ctx: Context, asset_id: int) -> str | None:
    async with ctx.sessions() as session:
        asset = await session.get(MediaAsset, asset_id)
    if asset is None or asset.state != "uploaded" or asset.original_key is not None:
        return None  # gone, already fetched, or already settled: a duplicate job
    return asset.remote_url


async def fetch_remote_media(ctx: Context, asset_id: int) -> None:
    url = await _pending_url(ctx, asset_id)
    if not url:
        return
    try:
        result = await fetch(ctx, url, accept="image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8",
                             max_bytes=ctx.config.media.max_upload_mb * 1024 * 1024, timeout=TIMEOUT,
                             types=MEDIA_TYPES)
    except FetchError as exc:
        if exc.permanent:
            await remote.reject_remote_media(ctx, asset_id, exc.code, exc.message)
            return
        raise
    try:
        content_type = sniff_image_type(result.body)
    except MediaRejected:
        await remote.reject_remote_media(ctx, asset_id, "bad_type", f"{url[:200]} is not a JPEG, PNG, WebP or GIF")
        return
    await remote.store_fetched_original(ctx, asset_id, result.body, content_type)
