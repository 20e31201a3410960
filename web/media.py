"""Serving derivatives. Originals have no route at all.

Who may open a file follows its work: published public works' files are public and cached for a year;
followers-only works' files are open to whoever holds the unguessable address (followers' servers fetch them
unsigned, as from Mastodon) but never kept by shared caches; files of works that are not published (processing,
held for review, rejected) or whose account is suspended are served only to the owner and moderators. A file
replaced by a re-stamp or re-cloak keeps its URL, under the same rules, until retention deletes it.

Every derivative of a NoAI work (local, or our cached copy of a remote one) carries `X-Robots-Tag` and
`tdm-reservation` (web/noai.py adds `tdm-policy`); listed AI crawlers get 403 and every client address is
rate limited (web/noai.py holds both).

Our cached copies of other servers' images note when they were last served (at most once an hour per asset,
so serving stays cheap); retention evicts the files of ones nobody viewed for a while. A request for an
evicted file queues a fetch from the origin on the remote-media queue (cara_fed/services/remote_cache.py) and
waits up to [retention] remote_media_refetch_wait_seconds for it, then serves it; if the origin is slow or
down, 503 with Retry-After (the URL stays, and a later request gets the file).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY, Context
from cara_fed.db import utcnow
from cara_fed.models import Account, Artwork, ArtworkImage, MediaAsset, MediaDerivative, RetiredMedia
from cara_fed.services import remote_cache
from cara_fed.storage import MediaMissing
from web import noai
from web.keys import ACCOUNT
from web.render import NOAI_ROBOTS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
CONTENT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}
KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|webp|png)$")
# key -> (page-cache generation, monotonic expiry, access). The generation changes on every committed write in
# this process that names no tags (cara_fed/cache.py: only likes, boosts, follows and comments name tags, and
# they change no file's access), so an artist's NoAI switch or a moderator's hold shows at once here; the TTL
# bounds it across web processes.
_ACCESS_TTL = 60.0
_ACCESS_MAX = 20_000
AccessCache = dict[str, tuple[int, float, "MediaAccess"]]
PUBLIC_CACHE = "public, max-age=31536000, immutable"
# Followers-only works: the address is the capability (as on Mastodon: followers' servers fetch it unsigned),
# so shared caches must not keep a copy for everyone.
LINK_CACHE = "private, max-age=86400, immutable"
OWNER_CACHE = "private, no-store"
# asset id -> monotonic time this process last wrote its last_viewed_at (remote media only)
VIEWED = web.AppKey("remote_media_viewed", dict)
# asset id -> monotonic time this process queued a fetch of its evicted files
REFETCHING = web.AppKey("remote_media_refetching", dict)
_REQUEUE_AFTER = 30.0  # seconds: a queued fetch not claimed by then (a lost job) is queued again
_VIEW_EVERY = remote_cache.VIEW_EVERY.total_seconds()
_VIEWED_MAX = 50_000
_POLL = 0.1  # seconds between looks for a file being fetched again


@dataclass(frozen=True)
class MediaAccess:
    """Who may open a derivative: "public" (published, public or unlisted), "link" (published followers-only:
    anyone holding the unguessable address), "owner" (not published, or its account is not active: the owner
    and moderators only); and whether NoAI covers it."""

    audience: str
    noai: bool
    owner_id: int | None = None
    asset_id: int | None = None
    remote: bool = False  # our cached copy of another server's image


async def _lookup_access(ctx: Context, key: str) -> MediaAccess:
    columns = (select(Artwork.noai, Artwork.state, Artwork.visibility, Account.noai_default, Account.status,
                      Account.id, MediaAsset.purpose, MediaAsset.id, MediaAsset.remote_url.is_not(None))
               .select_from(MediaAsset)
               .join(Account, Account.id == MediaAsset.account_id)
               .outerjoin(ArtworkImage, ArtworkImage.asset_id == MediaAsset.id)
               .outerjoin(Artwork, Artwork.id == ArtworkImage.artwork_id)
               .limit(1))
    current = MediaAsset.id.in_(select(MediaDerivative.asset_id).where(MediaDerivative.key == key))
    # A file a re-stamp or re-cloak replaced is served like its asset's current files until retention
    # deletes it (pages and followers' copies may still name it).
    retired = MediaAsset.id.in_(select(RetiredMedia.asset_id).where(RetiredMedia.key == key))
    async with ctx.reads() as session:
        row = (await session.execute(columns.where(current))).first()
        if row is None:
            row = (await session.execute(columns.where(retired))).first()
    if row is None:
        # A file we no longer know (e.g. a deleted row): owner-only means nobody, and NoAI is never dropped.
        return MediaAccess("owner", True)
    work_noai, state, visibility, account_default, status, owner_id, purpose, asset_id, remote = row
    noai = bool(work_noai if work_noai is not None else account_default)
    asset = {"owner_id": owner_id, "asset_id": asset_id, "remote": bool(remote)}
    if status != "active":
        return MediaAccess("owner", noai, **asset)
    if state is None and purpose == "artwork":  # uploaded from an app, not posted yet: unpublished
        return MediaAccess("owner", noai, **asset)
    if state is None:  # an avatar, banner or job image: as public as the profile or the job
        return MediaAccess("public", noai, **asset)
    if state != "published":  # processing, held for review, rejected, failed
        return MediaAccess("owner", noai, **asset)
    return MediaAccess("public" if visibility in ("public", "unlisted") else "link", noai, **asset)


async def media_access(app: web.Application, key: str) -> MediaAccess:
    ctx = app[CONTEXT_KEY]
    cache: AccessCache = app[noai.NOAI_CACHE]
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] == ctx.cache.generation and hit[1] > now:
        return hit[2]
    value = await _lookup_access(ctx, key)
    if len(cache) >= _ACCESS_MAX:
        cache.clear()  # bounded; rows are cheap to look up again
    cache[key] = (ctx.cache.generation, now + _ACCESS_TTL, value)
    return value


def _may_open(request: web.Request, access: MediaAccess) -> bool:
    if access.audience != "owner":
        return True
    viewer = request.get(ACCOUNT)
    return viewer is not None and (viewer.id == access.owner_id or viewer.is_admin)


@routes.get(r"/media/{key:[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp|png)}", name="media")
async def media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    if not KEY_RE.match(key):
        raise web.HTTPNotFound()
    refused = await noai.refuse_media(request)
    if refused is not None:
        return refused
    access = await media_access(request.app, key)
    if not _may_open(request, access):
        raise web.HTTPNotFound()  # not 403: held and unpublished works do not exist for others
    # Keys are random and content never changes under a key. Public files are cached for a year by anyone;
    # the others only by the viewer's own browser.
    # The type from the key, not mimetypes: some systems' tables lack .webp (it would go out as octet-stream).
    cache_control = {"public": PUBLIC_CACHE, "link": LINK_CACHE}.get(access.audience, OWNER_CACHE)
    headers = {"Cache-Control": cache_control, "Content-Type": CONTENT_TYPES[key.rsplit(".", 1)[1]]}
    if access.noai:
        headers.update({"X-Robots-Tag": NOAI_ROBOTS, "tdm-reservation": "1"})
    if access.audience != "public":
        headers["X-Robots-Tag"] = ", ".join(filter(None, [headers.get("X-Robots-Tag"), "noindex"]))
    if access.remote and access.asset_id is not None:
        await _mark_viewed(request.app, access.asset_id)
    response = await _send(request, key, headers)
    if response is None and access.remote:  # evicted for lack of views? then fetch it again from the origin
        response = await _fetch_again(request, key, headers)
    if response is None:
        raise web.HTTPNotFound()
    return response


async def _send(request: web.Request, key: str, headers: dict[str, str]) -> web.StreamResponse | None:
    """The stored file, or None when the store has no such file."""
    store = request.app[CONTEXT_KEY].storage
    path = store.local_path("public", key)
    if path is not None:  # local disk: sendfile, with Range and conditional requests
        if not path.is_file():
            return None
        return web.FileResponse(path, headers=headers)
    try:  # an object store: the bucket stays private, so the file comes through us
        data = await store.get("public", key)
    except MediaMissing:
        return None
    except Exception:
        log.exception("media store failed reading %s", key)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "5"}) from None
    return web.Response(body=data, headers=headers)


async def _mark_viewed(app: web.Application, asset_id: int) -> None:
    """At most one database write per asset an hour from this process (and the row itself refuses more)."""
    viewed: dict[int, float] = app[VIEWED]
    now = time.monotonic()
    last = viewed.get(asset_id)
    if last is not None and now - last < _VIEW_EVERY:
        return
    if len(viewed) >= _VIEWED_MAX:
        viewed.clear()  # bounded; the row's own hour check keeps writes rare anyway
    viewed[asset_id] = now
    try:
        await remote_cache.mark_viewed(app[CONTEXT_KEY], asset_id)
    except Exception:  # bookkeeping must never cost a visitor the image (a locked SQLite file, a failover)
        log.warning("could not note a view of remote media %s", asset_id, exc_info=True)


async def _fetch_again(request: web.Request, key: str, headers: dict[str, str]) -> web.StreamResponse | None:
    """An evicted remote file: queue the fetch and wait a bounded time for it; 503 + Retry-After if it is not
    back by then. None when the file is not evicted but truly missing (404)."""
    ctx = request.app[CONTEXT_KEY]
    found = await remote_cache.evicted(ctx, key)
    if found is None:
        return None
    queued: dict[int, float] = request.app[REFETCHING]
    last = queued.get(found.asset_id)
    if found.retry_at is None and (last is None or time.monotonic() - last > _REQUEUE_AFTER):
        # Not in flight, not backing off, and not queued by this process a moment ago (a burst of views of one
        # image queues one job, not one each; a duplicate would be a no-op anyway: the job claims the row).
        queued[found.asset_id] = time.monotonic()
        if len(queued) > _VIEWED_MAX:
            queued.clear()
        await remote_cache.request_refetch(ctx, found.asset_id)
        found = await remote_cache.evicted(ctx, key)  # inline jobs (and a quick worker) may be done already
        if found is None:
            return await _send(request, key, headers)
    if found.failed:  # that try is over: once its back-off ends, the next view queues another
        queued.pop(found.asset_id, None)
        wait = 5 if found.retry_at is None else max(1, min(3600, int((found.retry_at - utcnow()).total_seconds()) + 1))
        raise web.HTTPServiceUnavailable(headers={"Retry-After": str(wait), "Cache-Control": "no-store"},
                                         text="This image's server did not give it to us just now; try again later.")
    deadline = time.monotonic() + ctx.config.retention.remote_media_refetch_wait_seconds
    while True:  # queued now, or in flight for another request: wait a while for it
        if await ctx.storage.exists("public", key):
            response = await _send(request, key, headers)
            if response is not None:
                return response
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(_POLL)
    raise web.HTTPServiceUnavailable(headers={"Retry-After": "5", "Cache-Control": "no-store"},
                                     text="This image is being fetched again from its server; try again shortly.")
