"""Accounts -> ActivityStreams actors: an artist (Person), studio (Organization) or the instance (Application),
and the bare actor a suspended account keeps. Pure, like federation/wire/serialize.py."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cara_fed import urls
from cara_fed.context import Context
from federation.wire.contexts import CONTEXT
from federation.wire.proof_keys import assertion_method
from federation.wire.serialize import NOAI_ROBOTS, actor_id, hashtags, iso, largest, mention_tags, profile_url

if TYPE_CHECKING:  # annotations only: the wire reads rows it is handed, never the database
    from cara_fed.models import Account, MediaAsset

ACTOR_TYPES = {"artist": "Person", "studio": "Organization", "application": "Application"}


def _image_object(ctx: Context, asset: MediaAsset | None, long_edge: int) -> dict | None:
    derivative = largest(asset, long_edge)
    if derivative is None:
        return None
    return {"type": "Image", "mediaType": derivative.content_type, "url": ctx.url(urls.media(derivative.key))}


def _link_field(link: dict[str, str]) -> dict:
    # Mastodon's shape: profile links verify with rel="me" (the target links back to the profile).
    url = link.get("url", "")
    shown = url.split("://", 1)[-1].rstrip("/")
    value = f'<a href="{escape(url)}" target="_blank" rel="me nofollow noopener" translate="no">{escape(shown)}</a>'
    return {"type": "PropertyValue", "name": link.get("name") or shown, "value": value}


def suspended_actor_document(ctx: Context, account: Account) -> dict:
    """A local account in its deletion grace period, as Mastodon serves a suspended one: `suspended: true` and
    only what keeps the account addressable (ids, collections, key) — no name, bio, fields or images. Other
    servers hide it and can show it again if the account is restored; the tombstone afterwards answers 410."""
    me = actor_id(ctx, account)
    doc: dict[str, Any] = {
        "@context": CONTEXT, "id": me, "type": ACTOR_TYPES.get(account.kind, "Person"),
        "preferredUsername": account.username, "name": "", "summary": "", "url": profile_url(ctx, account),
        "inbox": me + "/inbox", "outbox": me + "/outbox", "followers": me + "/followers",
        "following": me + "/following", "featured": me + "/featured",
        "endpoints": {"sharedInbox": ctx.url(urls.SHARED_INBOX)},
        "manuallyApprovesFollowers": account.locked, "discoverable": False, "indexable": False,
        "published": iso(account.created_at), "suspended": True, "attachment": [], "tag": []}
    if account.public_key_pem:  # other servers still verify what we sign for it (e.g. the Delete at the end)
        doc["publicKey"] = {"id": me + "#main-key", "owner": me, "publicKeyPem": account.public_key_pem}
    return doc


def actor_document(ctx: Context, account: Account) -> dict:
    """The actor of a local account: artist (Person), studio (Organization) or the instance (Application)."""
    me = actor_id(ctx, account)
    application = account.kind == "application"
    bio, bio_tags = hashtags(ctx, account.bio_html or "", account.is_local and not application)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": me,
        "type": ACTOR_TYPES.get(account.kind, "Person"),
        "preferredUsername": account.username,
        "name": account.name,
        "summary": ctx.config.instance.description if application else bio,
        "url": profile_url(ctx, account),
        # The instance actor has no inbox of its own: whatever is addressed to it goes to the shared inbox.
        "inbox": ctx.url(urls.SHARED_INBOX) if application else me + "/inbox",
        "outbox": me + "/outbox",
        "endpoints": {"sharedInbox": ctx.url(urls.SHARED_INBOX)},
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.discoverable and account.indexable,
        "published": iso(account.created_at),
    }
    if not application:
        doc.update({"followers": me + "/followers", "following": me + "/following", "featured": me + "/featured",
                    "attachment": [_link_field(link) for link in account.links or [] if link.get("url")],
                    "cara:openToWork": account.open_to_work,
                    # Links to our pages carry fediverse:creator; Mastodon credits the author only when the
                    # page's host is one the actor names here.
                    "attributionDomains": [urlsplit(ctx.config.base_url).hostname or ctx.config.server.domain]})
        if account.noai_default:
            doc["xRobotsTag"] = NOAI_ROBOTS
        if bio_tags := bio_tags + mention_tags(account.bio_mentions):
            doc["tag"] = bio_tags
        if account.also_known_as:  # aliases: accounts elsewhere that may move here (services/moves.py)
            doc["alsoKnownAs"] = list(account.also_known_as)
        if account.moved_target is not None:
            doc["movedTo"] = actor_id(ctx, account.moved_target)
    if account.public_key_pem:
        doc["publicKey"] = {"id": me + "#main-key", "owner": me, "publicKeyPem": account.public_key_pem}
    if methods := assertion_method(me, account.ed25519_private_key_pem):  # FEP-8b32: what our proofs name
        doc["assertionMethod"] = methods
    if icon := _image_object(ctx, account.avatar_asset, 400):
        doc["icon"] = icon
    if image := _image_object(ctx, account.banner_asset, 1280):
        doc["image"] = image
    return doc
