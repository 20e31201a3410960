"""Models -> ActivityStreams JSON. Pure functions: no database, no HTTP (callers load what is needed).

With federation/wire/parse.py (and serialize_threads.py, comments) this is the only place that knows the AS wire
format (DESIGN.md §1, §4).
Every term used below is defined by CONTEXT, and CONTEXT names only contexts federation/wire/jsonld.py ships,
so any JSON-LD processor (ours is offline) can expand what we send.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cara_fed import urls
from cara_fed.context import Context
from cara_fed.models.artworks import ALL_RIGHTS_RESERVED
from cara_fed.services.review import LABEL_TEXT
from cara_fed.storage import derivative_url
from cara_fed.text import link_hashtags
from federation.wire.contexts import AS_CONTEXT as AS_CONTEXT
from federation.wire.contexts import CARA_NS as CARA_NS
from federation.wire.contexts import CONTEXT as CONTEXT
from federation.wire.contexts import DCTERMS_LICENSE as DCTERMS_LICENSE
from federation.wire.contexts import GTS_CONTEXT as GTS_CONTEXT
from federation.wire.contexts import PIXELFED_COMMENTS as PIXELFED_COMMENTS
from federation.wire.contexts import SECURITY_CONTEXT as SECURITY_CONTEXT
from federation.wire.contexts import XROBOTS_IRI as XROBOTS_IRI
from federation.wire.proof_keys import assertion_method

if TYPE_CHECKING:  # annotations only: the wire reads rows it is handed, never the database
    from cara_fed.models import Account, Artwork, ArtworkImage, Boost, Like, MediaAsset, Project

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
NOAI_ROBOTS = "noai, noimageai"
MASTODON_MAX_IMAGES = 4  # Mastodon shows four attachments and silently drops the rest

ACTOR_TYPES = {"artist": "Person", "studio": "Organization", "application": "Application"}
EDIT_GRACE = timedelta(seconds=2)  # publishing itself touches updated_at; later changes are edits


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- identifiers ---------------------------------------------------------------------------------


def actor_id(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.uri or ""
    if account.kind == "application":
        return ctx.url(urls.INSTANCE_ACTOR)
    return ctx.url(urls.actor(account.username))


def profile_url(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.url or account.uri or ""
    return ctx.url(urls.INSTANCE_PROFILE if account.kind == "application" else urls.profile(account.username))


def artwork_id(ctx: Context, artwork: Artwork) -> str:
    if artwork.uri:  # remote
        return artwork.uri
    return ctx.url(urls.artwork(artwork.account.username, artwork.id))


def project_id(ctx: Context, account: Account, project: Project | int) -> str:
    number = project if isinstance(project, int) else project.id
    return ctx.url(urls.project(account.username, number))


def followers_id(ctx: Context, account: Account) -> str:
    if not account.is_local:
        return account.followers_url or ""
    return actor_id(ctx, account) + "/followers"


def replies_id(note_id: str) -> str:
    """The `replies` collection of a local Note (an artwork's or a comment's)."""
    return urls.replies(note_id)


def tag_url(ctx: Context, tag: str) -> str:
    return ctx.url(urls.tag(tag))


def hashtags(ctx: Context, html: str, local: bool, extra: list[str] | None = None) -> tuple[str, list[dict]]:
    """Our own text with its #hashtags linked, and a Hashtag tag for each (plus `extra`), so Mastodon makes
    them searchable. Remote text is left as its server wrote it."""
    found: list[str] = []
    if local and html:
        html, found = link_hashtags(html, ctx.url(urls.TAGS))
    names = list(dict.fromkeys([*(extra or []), *found]))
    return html, [{"type": "Hashtag", "href": tag_url(ctx, t), "name": f"#{t}"} for t in names]


def mention_tags(mentions: list[dict] | None) -> list[dict]:
    """Mention tags from a stored mention list (services/mentions.py): Mastodon notifies whom these name."""
    return [{"type": "Mention", "href": m["href"], "name": m["name"]}
            for m in mentions or [] if isinstance(m, dict) and m.get("href") and m.get("name")]


def new_activity_id(ctx: Context) -> str:
    return ctx.url(urls.activity(uuid.uuid4().hex))


# --- actors --------------------------------------------------------------------------------------


def _largest(asset: MediaAsset | None, long_edge: int | None = None) -> Any:
    """The JPEG derivative to link: the best for `long_edge`, or the largest there is."""
    if asset is None or asset.state != "ready":
        return None
    if long_edge is not None:
        return asset.best(long_edge, "jpeg")
    jpegs = [d for d in asset.derivatives if d.format == "jpeg"]
    return max(jpegs, key=lambda d: d.long_edge) if jpegs else None


def _image_object(ctx: Context, asset: MediaAsset | None, long_edge: int) -> dict | None:
    derivative = _largest(asset, long_edge)
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


# --- artworks ------------------------------------------------------------------------------------


def audience(ctx: Context, artwork: Artwork) -> tuple[list[str], list[str]]:
    """(to, cc) by visibility, as Mastodon addresses public, unlisted and followers-only posts."""
    followers = followers_id(ctx, artwork.account)
    if artwork.visibility == "public":
        return [PUBLIC], [followers]
    if artwork.visibility == "unlisted":
        return [followers], [PUBLIC]
    return [followers], []


def _attachment(ctx: Context, image: ArtworkImage) -> dict | None:
    asset = image.asset
    derivative = _largest(asset)
    if derivative is not None:
        # The store/CDN's copy for a public work's file ([storage] public_base_url), else ours.
        url = derivative_url(ctx.config.storage.public_base_url, derivative, ctx.url)
        media_type = derivative.content_type
        width, height = derivative.width, derivative.height
    elif asset.remote_url:  # a remote work whose copy is not ready: point at the origin
        url, media_type, width, height = asset.remote_url, asset.original_type or None, asset.width, asset.height
    else:
        return None
    doc: dict[str, Any] = {"type": "Document", "mediaType": media_type, "url": url}
    if image.alt_text:
        doc["name"] = doc["summary"] = image.alt_text  # Mastodon reads name; others read summary
    if asset.blurhash:
        doc["blurhash"] = asset.blurhash
    doc["focalPoint"] = [round(asset.focal_x or 0.0, 2), round(asset.focal_y or 0.0, 2)]
    if width and height:
        doc["width"], doc["height"] = width, height
    return doc


def note_for_artwork(ctx: Context, artwork: Artwork, *, project: int | None = None) -> dict:
    """An artwork as a Mastodon-friendly Note. `project`: id of the first project that holds it, if any."""
    to, cc = audience(ctx, artwork)
    note_id = artwork_id(ctx, artwork)
    attachments = [a for a in (_attachment(ctx, image) for image in artwork.images) if a is not None]
    description, tags = hashtags(ctx, artwork.description_html, artwork.account.is_local, artwork.tag_names)
    # The people a public or unlisted work mentions are tagged and addressed (cc), so their servers notify
    # them. A followers-only work names nobody beyond its followers: a mention would show it to others.
    if artwork.account.is_local and artwork.visibility != "followers":
        mentioned = mention_tags(artwork.mentions)
        tags += mentioned
        cc = list(dict.fromkeys([*cc, *(m["href"] for m in mentioned)]))
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": note_id,
        "type": "Note",
        "attributedTo": actor_id(ctx, artwork.account),
        "name": artwork.title,
        "content": f"<p><strong>{escape(artwork.title)}</strong></p>{description}"
                   + _more_images(artwork.url or note_id, len(attachments)),
        "summary": label_warning(ctx, artwork) or None,
        "sensitive": bool(artwork.sensitive or artwork.content_warning),
        "published": iso(artwork.published_at or artwork.created_at),
        "url": artwork.url or note_id,
        "to": to,
        "cc": cc,
        "attachment": attachments,
        "tag": tags,
        "cara:noAI": bool(artwork.noai),
    }
    # Only the artist's edits (edited_at): pinning, re-stamping and review also touch updated_at, and Mastodon
    # shows "Edited" on any Note with `updated`.
    if artwork.published_at and artwork.edited_at and artwork.edited_at - artwork.published_at > EDIT_GRACE:
        doc["updated"] = iso(artwork.edited_at)
    if artwork.license and artwork.license != ALL_RIGHTS_RESERVED:
        doc["cara:license"] = doc["license"] = artwork.license
        for attachment in attachments:  # Pixelfed keeps a licence per image
            attachment["license"] = artwork.license
    if project is not None and artwork.account.is_local:
        doc["cara:project"] = project_id(ctx, artwork.account, project)
    if artwork.noai:
        doc["xRobotsTag"] = NOAI_ROBOTS
    if artwork.ai_label:
        doc["cara:aiProvenance"] = artwork.ai_label
    if artwork.cloaked:  # the served files carry a cloak: caches must keep these pixels (docs/cloaking.md)
        doc["cara:cloaked"] = {"cara:engine": str(artwork.cloaked.get("engine", "")),
                               "cara:version": str(artwork.cloaked.get("version", ""))}
    if artwork.account.is_local:
        doc["interactionPolicy"] = interaction_policy(ctx, artwork)
        doc["commentsEnabled"] = artwork.comment_policy != "off"  # Pixelfed's switch (who: interactionPolicy)
        doc["replies"] = replies_stub(note_id)
    return doc


def _more_images(link: str, shown: int) -> str:
    """A closing line for Mastodon, which shows four attachments and drops the rest without a word."""
    hidden = shown - MASTODON_MAX_IMAGES
    if hidden <= 0:
        return ""
    noun = "image" if hidden == 1 else "images"
    return f'<p><a href="{escape(link)}">+{hidden} more {noun} — view the full work</a></p>'


def replies_stub(note_id: str) -> dict:
    """The `replies` a Note embeds: the collection's id and its first page, fetched on demand (Mastodon
    follows `first` to backfill a thread)."""
    base = replies_id(note_id)
    return {"id": base, "type": "Collection", "first": base + "?page=true"}


def interaction_policy(ctx: Context, artwork: Artwork) -> dict:
    """GoToSocial's interactionPolicy from the artwork's comment setting: anyone may like and announce; replies
    from everyone, from followers (and the artist), or from the artist only. A followers-only work names its
    followers instead of Public (it must not be announced to the world). Both the older `always` and the newer
    `automaticApproval` names are sent, as GoToSocial itself does during its transition."""
    author, followers = actor_id(ctx, artwork.account), followers_id(ctx, artwork.account)
    anyone = [followers, author] if artwork.visibility == "followers" else [PUBLIC]
    repliers = {"followers": [followers, author], "off": [author]}.get(artwork.comment_policy or "", anyone)

    def rule(who: list[str]) -> dict:
        return {"always": who, "automaticApproval": who, "approvalRequired": [], "manualApproval": []}

    return {"canLike": rule(anyone), "canReply": rule(repliers),
            "canAnnounce": rule(anyone if artwork.visibility != "followers" else [author])}


def label_warning(ctx: Context, artwork: Artwork) -> str:
    """The content warning Mastodon users see: an AI-provenance label first (they cannot read cara: terms),
    then the artist's own warning."""
    if not artwork.ai_label:
        return artwork.content_warning
    label = LABEL_TEXT.get(artwork.ai_label, artwork.ai_label)
    where = artwork.account.domain or ctx.config.server.domain
    prefix = f"{label} (labelled by {where})"
    return f"{prefix} · {artwork.content_warning}" if artwork.content_warning else prefix


# --- activities and collections ------------------------------------------------------------------


def _embedded(value: Any) -> Any:
    """An object inside another document carries no @context of its own."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "@context"}
    return value


def activity(ctx: Context, type_: str, actor: Account | str, object_: dict | str | list, *,
             to: list[str] | None = None, cc: list[str] | None = None, id_: str | None = None) -> dict:
    """An activity by `actor` about `object_` (a document or an IRI). Without to/cc it copies the object's
    addressing, as Mastodon does for Create/Update, so recipients see the same audience on both."""
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": id_ or new_activity_id(ctx),
        "type": type_,
        "actor": actor if isinstance(actor, str) else actor_id(ctx, actor),
        "object": _embedded(object_),
    }
    if to is None and isinstance(object_, dict) and "to" in object_:
        to = object_["to"]
        if cc is None:
            cc = object_.get("cc")
    if to is not None:
        doc["to"] = to
    if cc is not None:
        doc["cc"] = cc
    if isinstance(object_, dict) and type_ in ("Create", "Update") and object_.get("published"):
        doc["published"] = object_.get("updated") or object_["published"]
    return doc


def tombstone(uri: str, former_type: str | None = None) -> dict:
    """What a Delete carries for an object that is gone."""
    return {"id": uri, "type": "Tombstone", **({"formerType": former_type} if former_type else {})}


def ordered_collection(id_: str, total: int, *, first: str | None = None, items: list | None = None,
                       **extra: Any) -> dict:
    """An OrderedCollection: paged (first) or with its items inline (featured, projects)."""
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id_, "type": "OrderedCollection", "totalItems": total}
    doc.update({k: v for k, v in extra.items() if v is not None})
    if first is not None:
        doc["first"] = first
    if items is not None:
        doc["orderedItems"] = [_embedded(item) for item in items]
    return doc


def collection_page(id_: str, part_of: str, items: list, *, next_: str | None = None) -> dict:
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id_, "type": "OrderedCollectionPage", "partOf": part_of,
                           "orderedItems": [_embedded(item) for item in items]}
    if next_ is not None:
        doc["next"] = next_
    return doc


def create_for_note(ctx: Context, artwork: Artwork, note: dict) -> dict:
    """The Create an outbox lists for a Note (a stable id derived from the Note's, so listings repeat it)."""
    return activity(ctx, "Create", artwork.account, note, id_=note["id"] + "#create")


def project_collection(ctx: Context, account: Account, project: Project, artworks: list[Artwork]) -> dict:
    """A portfolio project: an OrderedCollection with a title and description whose items are Notes' ids."""
    return ordered_collection(
        project_id(ctx, account, project), len(artworks), items=[artwork_id(ctx, a) for a in artworks],
        name=project.title, summary=project.description_html or None, attributedTo=actor_id(ctx, account),
        url=project_id(ctx, account, project), published=iso(project.created_at), updated=iso(project.updated_at))


def interaction(ctx: Context, type_: str, row: Like | Boost, actor: Account, artwork: Artwork) -> dict:
    """Like (to the author only) or Announce (public, to the author and our followers) of a work."""
    note, author = artwork_id(ctx, artwork), actor_id(ctx, artwork.account)
    if type_ == "Like":
        return activity(ctx, "Like", actor, note, to=[author], id_=row.uri)
    return activity(ctx, "Announce", actor, note, to=[PUBLIC], cc=[author, followers_id(ctx, actor)],
                    id_=row.uri) | {"published": iso(row.created_at)}
