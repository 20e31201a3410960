"""Artworks -> ActivityStreams Notes: addressing, image attachments, licence, NoAI, AI label, cloak, the
GoToSocial interactionPolicy and the replies stub. Pure, like federation/wire/serialize.py."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from cara_fed.context import Context
from cara_fed.models.artworks import ALL_RIGHTS_RESERVED
from cara_fed.services.review import LABEL_TEXT
from cara_fed.storage import derivative_url
from federation.wire.contexts import CONTEXT
from federation.wire.serialize import (
    NOAI_ROBOTS,
    PUBLIC,
    actor_id,
    artwork_id,
    followers_id,
    hashtags,
    iso,
    largest,
    mention_tags,
    project_id,
    replies_id,
)

if TYPE_CHECKING:  # annotations only: the wire reads rows it is handed, never the database
    from cara_fed.models import Artwork, ArtworkImage

MASTODON_MAX_IMAGES = 4  # Mastodon shows four attachments and silently drops the rest


EDIT_GRACE = timedelta(seconds=2)  # publishing itself touches updated_at; later changes are edits


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
    derivative = largest(asset)
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
