"""Mastodon's Status entity and its parts: an artwork, a comment or a reblog as a Status, Tag, Mention, our
`cara` fields, StatusEdit and StatusSource."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from cara_fed import urls
from cara_fed.models import Account, Artwork, Comment, MediaAsset
from cara_fed.models.artworks import ArtworkEdit
from cara_fed.queries_statuses import StatusWork
from cara_fed.taxonomy import LICENSES
from web.api.entities import BOOST_BASE, VISIBILITY, View, comment_status_id, iso, profile_path
from web.api.entities_accounts import account
from web.api.entities_media import image_media, media


def tag(view: View, name: str, *, following: bool | None = None, uses: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "url": view.url(urls.tag(name)), "history": []}
    if uses is not None:
        data["history"] = [{"day": str(int(datetime.now(UTC).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0).timestamp())),
                            "uses": str(uses), "accounts": str(uses)}]
    if following is not None:
        data["following"] = following
    return data


def artwork_html(artwork: Artwork | StatusWork) -> str:
    title = f"<p><strong>{html.escape(artwork.title)}</strong></p>" if artwork.title else ""
    return title + (artwork.description_html or "")


def status(view: View, work: Artwork | StatusWork) -> dict[str, Any]:
    facts = view.statuses
    owner = view.viewer is not None and view.viewer.id == work.account_id
    data: dict[str, Any] = {
        "id": str(work.id), "uri": work.uri or view.url(urls.artwork(work.account.username, work.id)),
        "url": work.url if work.uri and work.url else view.url(f"{profile_path(work.account)}/{work.id}"),
        "created_at": iso(work.published_at or work.created_at), "account": account(view, work.account),
        "content": artwork_html(work), "visibility": VISIBILITY.get(work.visibility, "public"),
        "sensitive": bool(work.sensitive), "spoiler_text": work.content_warning or "",
        "media_attachments": [image_media(view, image) for image in work.images],
        "application": None, "mentions": mentions(view, work.mentions),
        "tags": [tag(view, t) for t in facts.tags.get(work.id, [])], "emojis": [],
        "reblogs_count": facts.boosts.get(work.id, 0), "favourites_count": facts.likes.get(work.id, 0),
        "replies_count": facts.replies.get(work.id, 0), "in_reply_to_id": None, "in_reply_to_account_id": None,
        "reblog": None, "poll": None, "card": None, "language": None, "edited_at": iso(work.edited_at),
        "cara": cara_fields(work, owner),
    }
    if view.viewer is not None:
        data.update({"favourited": work.id in facts.liked, "reblogged": work.id in facts.boosted,
                     "muted": False, "bookmarked": work.id in facts.bookmarked, "filtered": []})
        if owner:
            data["pinned"] = work.pinned_at is not None
    return data


def mentions(view: View, stored: list | None) -> list[dict[str, Any]]:
    """Mastodon's Mention entities from a work's stored mentions (services/mentions.py)."""
    found = []
    for m in stored or []:
        if not isinstance(m, dict) or not m.get("account_id") or not m.get("name"):
            continue
        username, _, domain = str(m["name"]).lstrip("@").partition("@")
        local = str(m.get("href", "")).startswith(view.url(urls.ACTORS))
        found.append({"id": str(m["account_id"]), "username": username, "url": m.get("url") or m.get("href"),
                      "acct": username if local else f"{username}@{domain}"})
    return found


def cara_fields(work: Artwork | StatusWork, owner: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": work.title, "description": work.description if work.account.is_local else None,
        "field": work.field or None, "medium": work.medium or None, "software": list(work.software or []),
        "license": work.license, "license_name": LICENSES.get(work.license, work.license),
        "noai": bool(work.noai), "ai_label": work.ai_label, "comment_policy": work.comment_policy,
        "cloaked": work.cloaked is not None,  # the served images carry a cloak (federated as cara:cloaked)
    }
    if owner:  # held, rejected, processing and cloaking states are the artist's business only
        data["state"] = work.state
        data["cloak"] = bool(work.cloak)
        data["media_states"] = {str(image.asset_id): image.asset.state for image in work.images}
        data["media_progress"] = {str(image.asset_id): image.asset.progress for image in work.images
                                  if image.asset.state == "cloaking"}
    return data


EDIT_FIELDS = ("content", "spoiler_text", "sensitive", "created_at", "account", "media_attachments", "emojis")


def status_edit(current: dict[str, Any]) -> dict[str, Any]:
    """The current version as a StatusEdit: dated by its last edit when it was edited."""
    dated = current.get("edited_at") or current["created_at"]
    return {key: current[key] for key in EDIT_FIELDS} | {"created_at": dated, "poll": None}


def replaced_edit(view: View, edit: ArtworkEdit, author: dict[str, Any],
                  assets: dict[int, MediaAsset]) -> dict[str, Any]:
    """A version an edit replaced, as a StatusEdit; images since deleted are left out."""
    title = f"<p><strong>{html.escape(edit.title)}</strong></p>" if edit.title else ""
    return {"content": title + (edit.description_html or ""), "spoiler_text": edit.content_warning or "",
            "sensitive": bool(edit.sensitive), "created_at": iso(edit.created_at), "account": author,
            "media_attachments": [media(view, assets[m["asset_id"]], m.get("alt") or "") for m in edit.media or []
                                  if isinstance(m, dict) and m.get("asset_id") in assets],
            "emojis": [], "poll": None}


def source(work: Artwork) -> dict[str, Any]:
    """GET /api/v1/statuses/:id/source: the text an edit starts from (title on the first line)."""
    text = work.title + ("\n" + work.description if work.description else "")
    return {"id": str(work.id), "text": text, "spoiler_text": work.content_warning or ""}


def comment_status(view: View, comment: Comment, artwork: Artwork, parent: Comment | None,
                   likes: int = 0, replies: int = 0) -> dict[str, Any]:
    in_reply_to = comment_status_id(parent.id) if parent is not None else str(artwork.id)
    author_of_parent = parent.account_id if parent is not None else artwork.account_id
    data: dict[str, Any] = {
        "id": comment_status_id(comment.id), "uri": comment.uri or view.url(urls.comment(comment.id)),
        "url": comment.url or view.url(f"{profile_path(artwork.account)}/{artwork.id}#comment-{comment.id}"),
        "created_at": iso(comment.created_at), "account": account(view, comment.account),
        "content": comment.content_html or "", "visibility": VISIBILITY.get(artwork.visibility, "public"),
        "sensitive": False, "spoiler_text": "", "media_attachments": [], "application": None, "mentions": [],
        "tags": [tag(view, t) for t in comment.tags or []], "emojis": [], "reblogs_count": 0,
        "favourites_count": likes, "replies_count": replies, "in_reply_to_id": in_reply_to,
        "in_reply_to_account_id": str(author_of_parent), "reblog": None, "poll": None, "card": None,
        "language": None, "edited_at": None,
    }
    if view.viewer is not None:
        data.update({"favourited": False, "reblogged": False, "muted": False, "bookmarked": False, "filtered": []})
    return data


def reblog(view: View, boost_id: int, booster: Account, created_at: datetime, inner: dict[str, Any]) -> dict[str, Any]:
    return {**inner, "id": str(BOOST_BASE + boost_id), "uri": inner["uri"] + f"#boost-{boost_id}",
            "url": None, "created_at": iso(created_at), "account": account(view, booster), "content": "",
            "spoiler_text": "", "media_attachments": [], "mentions": [], "tags": [], "reblog": inner,
            "in_reply_to_id": None, "in_reply_to_account_id": None}
