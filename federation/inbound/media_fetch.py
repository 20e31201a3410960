"""Job `fetch_remote_media(ctx, asset_id)`: copy a remote image into private storage, then the ordinary
protection pipeline takes over (`remote.store_fetched_original` queues protect_remote_media).

Permanent failures (private address, too large, not an image, a 4xx) reject the asset with the reason,
which settles its artwork; transient ones (timeouts, 5xx, connection errors) are counted and backed off
(1, 4, 16, 64 minutes; the sweep queues the next try) until `[federation] media_fetch_attempts`, then
rejected with the last reason. Runs on the remote-media queue, apart from local uploads.

Job `refetch_remote_media(ctx, asset_id)`: the same fetch for an image retention evicted (nobody viewed it for
[retention] remote_media_unviewed_days) and a visitor asks for again (cara_fed/services/remote_cache.py). A
failure never rejects it: the asset stays evicted and a later view tries again after a back-off.
"""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.services import remote, remote_cache
from federation.discovery.net import FetchError, FetchResult, fetch
from protection import MediaRejected, sniff_image_type

log = logging.getLogger(__name__)

TIMEOUT = 30
# Some servers label images application/octet-stream; the bytes decide (magic-number sniffing below).
MEDIA_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


async def fetch_remote_media(ctx: Context, asset_id: int) -> None:
    url = await remote.claim_fetch(ctx, asset_id)
    if not url:
        return  # a duplicate job, a fetch in flight elsewhere, or backing off: the sweep queues it when due
    try:
        result = await _download(ctx, url)
    except FetchError as exc:
        if exc.permanent:
            await remote.reject_remote_media(ctx, asset_id, exc.code, exc.message)
        else:  # counted and backed off, not raised: the queue must not retry it on its own, nor log a traceback
            log.warning("fetching remote media %s failed (%s); will back off: %s", asset_id, exc.code, exc.message)
            await remote.fetch_failed(ctx, asset_id, exc.code, exc.message)
        return
    try:
        content_type = sniff_image_type(result.body)
    except MediaRejected:
        await remote.reject_remote_media(ctx, asset_id, "bad_type", f"{url[:200]} is not a JPEG, PNG, WebP or GIF")
        return
    await remote.store_fetched_original(ctx, asset_id, result.body, content_type)


async def _download(ctx: Context, url: str) -> FetchResult:
    return await fetch(ctx, url, accept="image/avif,image/webp,image/png,image/jpeg,image/*;q=0.8",
                       max_bytes=ctx.config.media.max_upload_mb * 1024 * 1024, timeout=TIMEOUT, types=MEDIA_TYPES)


async def refetch_remote_media(ctx: Context, asset_id: int) -> None:
    url = await remote_cache.claim_refetch(ctx, asset_id)
    if not url:
        return  # restored already, a fetch in flight elsewhere, or backing off
    try:
        result = await _download(ctx, url)
        content_type = sniff_image_type(result.body)
    except FetchError as exc:
        await remote_cache.refetch_failed(ctx, asset_id, exc.code, exc.message, permanent=exc.permanent)
        return
    except MediaRejected:
        await remote_cache.refetch_failed(ctx, asset_id, "bad_type", f"{url[:200]} is not a JPEG, PNG, WebP or GIF",
                                          permanent=True)
        return
    await remote_cache.restore(ctx, asset_id, result.body, content_type)
