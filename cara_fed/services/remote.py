"""Remote actors and their artworks, as plain data. federation/wire/parse_actors.py and parse_artworks.py turn
ActivityStreams into these dataclasses; this module stores them. Remote HTML arrives here already sanitized by
the caller's parser, and is sanitized again here (defence in depth: nothing from another server reaches a page
unsanitized)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import PermissionDenied
from cara_fed.models import Account, Artwork, ArtworkImage, ArtworkTag, MediaAsset
from cara_fed.services.media import delete_asset_files
from cara_fed.states import transition
from cara_fed.storage import new_key
from cara_fed.text import normalize_tag, sanitize_html


@dataclass
class RemoteActor:
    uri: str
    username: str
    domain: str
    inbox: str
    public_key_pem: str
    key_id: str
    actor_type: str = "Person"
    display_name: str = ""
    summary_html: str = ""
    url: str | None = None
    shared_inbox: str | None = None
    followers_url: str | None = None
    avatar_url: str | None = None
    banner_url: str | None = None
    locked: bool = False
    discoverable: bool = True
    indexable: bool = True
    links: list[dict[str, str]] = field(default_factory=list)
    assertion_keys: dict[str, str] = field(default_factory=dict)  # FEP-8b32 Multikeys: {id: publicKeyMultibase}


@dataclass
class RemoteImage:
    url: str
    alt_text: str = ""
    media_type: str = ""
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None
    focal_point: tuple[float, float] = (0.0, 0.0)


@dataclass
class RemoteArtwork:
    uri: str
    attributed_to: str
    title: str
    content_html: str = ""
    url: str | None = None
    content_warning: str = ""
    sensitive: bool = False
    published: datetime | None = None
    tags: list[str] = field(default_factory=list)
    images: list[RemoteImage] = field(default_factory=list)
    license: str = "all-rights-reserved"
    noai: bool = False
    visibility: str = "public"
    ai_label: str | None = None  # the origin server's AI-provenance label (cara:aiProvenance)
    # The origin says its files are cloaked (cara:cloaked): {"engine": ..., "version": ...}; we keep its pixels.
    cloaked: dict | None = None
    # Who may reply without approval (GoToSocial interactionPolicy.canReply); None = the post sets no policy.
    can_reply: list[str] | None = None


def comment_policy_from(can_reply: list[str] | None, author: Account) -> str:
    """Our comment setting for a remote work from its canReply list (replies needing approval count as not
    allowed: we cannot ask for approval)."""
    if can_reply is None or any(who.endswith("#Public") or who in ("as:Public", "Public") for who in can_reply):
        return "everyone"
    return "followers" if author.followers_url and author.followers_url in can_reply else "off"


@functools.lru_cache(maxsize=4096)
def domain_of(uri: str) -> str:
    # Cached: the inbox worker asks for its senders' domains for every activity (urlsplit's own cache, 128
    # entries, is flushed by the activities' unique object ids).
    return (urlsplit(uri).netloc or "").lower()


async def upsert_actor(ctx: Context, actor: RemoteActor) -> Account:
    """Create or refresh the local copy of a remote actor, keyed by its URI."""
    try:
        return await _upsert_actor(ctx, actor)
    except IntegrityError:
        # Another transaction (another web process, the worker) stored this actor first: refresh that row.
        return await _upsert_actor(ctx, actor)


async def _upsert_actor(ctx: Context, actor: RemoteActor) -> Account:
    async with ctx.transaction() as tx:
        account = await tx.session.scalar(select(Account).where(Account.uri == actor.uri))
        if account is None:
            account = Account(uri=actor.uri, username=actor.username.lower()[:64], domain=actor.domain.lower())
            tx.session.add(account)
        elif account.is_local:
            raise PermissionDenied("a remote document claims one of our local actors")
        account.kind = "studio" if actor.actor_type == "Organization" else "artist"
        account.actor_type = actor.actor_type
        account.display_name = actor.display_name[:100]
        account.bio_html = sanitize_html(actor.summary_html)
        account.inbox_url, account.shared_inbox_url = actor.inbox, actor.shared_inbox
        account.followers_url, account.url = actor.followers_url, actor.url
        if actor.key_id:
            # The parser only accepts a key on the actor's own server, so a row elsewhere holding this key id is
            # stale (the key moved between accounts of that server) or was squatted before that rule: the
            # actor we just verified owns it now.
            await tx.session.execute(update(Account).where(Account.key_id == actor.key_id, Account.uri != actor.uri)
                                     .values(key_id=None, public_key_pem=None))
        account.public_key_pem, account.key_id = actor.public_key_pem, actor.key_id
        account.remote_avatar_url, account.remote_banner_url = actor.avatar_url, actor.banner_url
        account.locked, account.discoverable = actor.locked, actor.discoverable
        account.indexable = actor.indexable
        account.links = actor.links[:8]
        account.assertion_keys = dict(actor.assertion_keys)
        account.fetched_at = utcnow()
    return account


def remote_asset(account: Account, image: RemoteImage) -> MediaAsset:
    """A remote image becomes an asset waiting for the fetch job (`fetch_remote_media`, enqueued by the caller
    after commit), then the same protection pipeline as uploads."""
    return MediaAsset(account_id=account.id, remote_url=image.url, original_type=image.media_type,
                      width=image.width, height=image.height, blurhash=image.blurhash,
                      focal_x=image.focal_point[0], focal_y=image.focal_point[1])


def _images(account: Account, artwork: RemoteArtwork) -> list[ArtworkImage]:
    return [ArtworkImage(position=i, alt_text=image.alt_text[:1500], asset=remote_asset(account, image))
            for i, image in enumerate(artwork.images[:20])]


async def upsert_artwork(ctx: Context, account: Account, data: RemoteArtwork) -> Artwork:
    """Create or update a remote artwork. The author must be `account` (no one posts for someone else)."""
    if data.attributed_to != account.uri:
        raise PermissionDenied("the object is attributed to someone other than the sender")
    async with ctx.transaction() as tx:
        artwork = await tx.session.scalar(select(Artwork).where(Artwork.uri == data.uri))
        if artwork is not None and artwork.account_id != account.id:
            raise PermissionDenied("that object belongs to another actor")
        new_images = artwork is None or [i.asset.remote_url for i in artwork.images] != [i.url for i in data.images]
        if artwork is None:
            artwork = Artwork(account_id=account.id, uri=data.uri, title="", state="processing")
            tx.session.add(artwork)
        artwork.title = data.title[:200]
        artwork.description_html = sanitize_html(data.content_html)
        artwork.url = data.url
        artwork.content_warning = data.content_warning[:500]
        artwork.sensitive = data.sensitive or bool(data.content_warning)
        artwork.license, artwork.noai, artwork.visibility = data.license, data.noai, data.visibility
        artwork.comment_policy = comment_policy_from(data.can_reply, account)
        artwork.cloaked = data.cloaked
        if artwork.ai_label_by not in ("moderator", "detection"):  # our own decisions outrank the origin's
            artwork.ai_label, artwork.ai_label_by = data.ai_label, "remote" if data.ai_label else None
        artwork.tags = [ArtworkTag(tag=t) for t in dict.fromkeys(filter(None, map(normalize_tag, data.tags)))][:30]
        artwork.published_at = artwork.published_at or data.published or utcnow()
        if new_images:
            artwork.images = _images(account, data)
            if artwork.state == "published":
                transition(artwork, "processing")
            await tx.session.flush()
            for image in artwork.images:
                tx.after_commit(ctx.jobs.enqueue, tasks.FETCH_REMOTE_MEDIA, image.asset.id)
        if not data.images and artwork.state == "processing":
            transition(artwork, "published")
    return artwork


async def delete_artwork(ctx: Context, account: Account, uri: str) -> bool:
    """Inbound Delete of a remote artwork; only its author may delete it."""
    async with ctx.transaction() as tx:
        artwork = await tx.session.scalar(select(Artwork).where(Artwork.uri == uri))
        if artwork is None:
            return False
        if artwork.account_id != account.id:
            raise PermissionDenied("only the author may delete this object")
        assets = [image.asset for image in artwork.images]
        for asset in assets:  # first: its query would flush a delete that the database then cascades
            await delete_asset_files(ctx, tx, asset)
        for asset in assets:
            await tx.session.delete(asset)
        await tx.session.delete(artwork)
    return True


async def delete_actor(ctx: Context, account: Account) -> None:
    """Inbound Delete of an actor: their works, follows and the account itself go."""
    async with ctx.transaction() as tx:
        uris = (await tx.session.scalars(select(Artwork.uri).where(Artwork.account_id == account.id))).all()
    for uri in uris:
        if uri:
            await delete_artwork(ctx, account, uri)
    async with ctx.transaction() as tx:
        await tx.session.execute(delete(Account).where(Account.id == account.id))


FETCH_BACKOFF = timedelta(minutes=1)  # then 4, 16, 64... minutes
FETCH_LEASE = timedelta(minutes=2)  # longer than a fetch may take: the sweep leaves a fetch in flight alone


async def claim_fetch(ctx: Context, asset_id: int) -> str | None:
    """The URL to fetch, if this job may fetch it now: the asset still waits for its bytes and no other fetch
    holds it (a lease until `next_attempt_at`, which also keeps the sweep from queueing it meanwhile). None
    for a duplicate job, a fetch in flight elsewhere, or one backing off."""
    now = utcnow()
    async with ctx.transaction(changes_pages=False) as tx:
        claimed = await tx.session.execute(
            update(MediaAsset)
            .where(MediaAsset.id == asset_id, MediaAsset.state == "uploaded", MediaAsset.original_key.is_(None),
                   MediaAsset.remote_url.is_not(None),
                   MediaAsset.next_attempt_at.is_(None) | (MediaAsset.next_attempt_at <= now))
            .values(next_attempt_at=now + FETCH_LEASE, claimed_by=ctx.worker_name)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return None
        return await tx.session.scalar(select(MediaAsset.remote_url).where(MediaAsset.id == asset_id))


async def store_fetched_original(ctx: Context, asset_id: int, data: bytes, content_type: str) -> None:
    """The fetch job hands over remote bytes; from here it is the ordinary protection pipeline (on the
    remote-media queue)."""
    key = new_key()
    await ctx.storage.put("private", key, data)
    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.original_key is not None or asset.state != "uploaded":
            await ctx.storage.delete("private", key)
            return
        asset.original_key, asset.original_type, asset.original_size = key, content_type, len(data)
        asset.next_attempt_at, asset.claimed_by = None, None
        asset.error_code = asset.error_message = None  # an earlier failed try is history now
        asset.state_changed_at = utcnow()  # waiting for processing from now on (the sweep's clock)
        tx.after_commit(ctx.jobs.enqueue, tasks.PROTECT_REMOTE_MEDIA, asset_id)


async def fetch_failed(ctx: Context, asset_id: int, code: str, message: str) -> None:
    """A fetch failed in a way that may pass (timeout, 5xx, connection refused): count it and back off
    exponentially; after `[federation] media_fetch_attempts` tries, give up with the reason, which settles
    the artwork (it shows the images that could be fetched)."""
    limit = ctx.config.federation.media_fetch_attempts
    async with ctx.transaction(changes_pages=False) as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != "uploaded" or asset.original_key is not None:
            return
        asset.fetch_attempts += 1
        asset.claimed_by = None
        if asset.fetch_attempts < limit:
            asset.next_attempt_at = utcnow() + FETCH_BACKOFF * 4 ** (asset.fetch_attempts - 1)
            asset.error_code, asset.error_message = code, message[:500]
            return
    await reject_remote_media(ctx, asset_id, "fetch_failed",
                              f"Gave up after {limit} tries; the last one: {message[:400]}")


async def reject_remote_media(ctx: Context, asset_id: int, code: str, message: str) -> None:
    """The fetch failed for good (private address, too large, wrong type, too many tries): reject with the
    reason."""
    from cara_fed.services.media_pipeline import settle_artworks

    async with ctx.transaction() as tx:
        asset = await tx.session.get(MediaAsset, asset_id)
        if asset is None or asset.state != "uploaded":
            return
        transition(asset, "rejected")
        asset.error_code, asset.error_message = code, message
        asset.next_attempt_at, asset.claimed_by = None, None
    await settle_artworks(ctx, asset_id)
