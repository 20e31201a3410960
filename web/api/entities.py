"""Mastodon JSON (v4.3 entity shapes): the only place the client API's wire format is built.

An artwork is a Status whose media are its images; a comment is a Status that replies to the artwork (or to
the comment it answers). Comment status ids live above COMMENT_BASE so the two kinds never collide and both
stay numeric strings (ids above 2^53 would break JavaScript clients; these stay far below). Our own fields
(title, field, medium, licence, NoAI, AI label, processing state for the owner) ride in a `cara` object,
which Mastodon apps ignore.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cara_fed import urls
from cara_fed.context import Context
from cara_fed.models import (
    Account,
    Artwork,
    ArtworkImage,
    Comment,
    Marker,
    MediaAsset,
    MediaDerivative,
    Notification,
    OAuthApp,
)
from cara_fed.models.artworks import ArtworkEdit
from cara_fed.models.moderation import InstanceRule
from cara_fed.numbers import parse_whole
from cara_fed.queries_api import TYPE_OF_KIND, AccountFacts, Relation, StatusFacts
from cara_fed.services import oauth
from cara_fed.storage import derivative_url
from cara_fed.taxonomy import LICENSES

COMMENT_BASE = 10**15  # comment status ids: COMMENT_BASE + comment id
BOOST_BASE = 2 * 10**15  # the wrapper status of a reblog: BOOST_BASE + boost id
VISIBILITY = {"public": "public", "unlisted": "unlisted", "followers": "private"}
API_VERSION = 2  # Mastodon 4.3's api_versions.mastodon


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def day(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value is not None else None


def comment_status_id(comment_id: int) -> str:
    return str(COMMENT_BASE + comment_id)


def parse_status_id(raw: str) -> tuple[str, int] | None:
    """("artwork", id) or ("comment", id) for a status id, None when it names nothing."""
    number = parse_whole(raw, most=10**18)
    if number is None:
        return None
    if 0 < number < 2**31:
        return "artwork", number
    if COMMENT_BASE < number < COMMENT_BASE + 2**31:
        return "comment", number - COMMENT_BASE
    return None


@dataclass
class View:
    """What rendering needs besides the rows: our base URL, the viewer and the page's batch-loaded facts."""

    base: str
    viewer: Account | None = None
    media_base: str = ""  # [storage] public_base_url: public works' files are linked there
    statuses: StatusFacts = field(default_factory=StatusFacts)
    accounts: AccountFacts = field(default_factory=AccountFacts)

    def url(self, path: str) -> str:
        return self.base + path

    @classmethod
    def of(cls, config: Any) -> View:
        """A view with no viewer for this instance's config."""
        return cls(base=config.base_url, media_base=config.storage.public_base_url)

    def media(self, derivative: MediaDerivative) -> str:
        return derivative_url(self.media_base, derivative, self.url)


def _profile_path(account: Account) -> str:
    return urls.profile(account.username, None if account.is_local else account.domain)


def acct(account: Account) -> str:
    return account.username if account.is_local else f"{account.username}@{account.domain}"


# --- Account -------------------------------------------------------------------------------------


def _asset_url(view: View, asset: MediaAsset | None, edge: int) -> str | None:
    if asset is None or asset.state != "ready":
        return None
    derivative = asset.best(edge, "jpeg")
    return view.url(urls.media(derivative.key)) if derivative is not None else None


def _field(link: dict[str, str]) -> dict[str, Any]:
    url = html.escape(link.get("url", ""))
    shown = html.escape(re.sub(r"^https?://", "", link.get("url", "")))
    return {"name": link.get("name", ""), "verified_at": None,
            "value": f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer me">{shown}</a>'}


def account(view: View, who: Account, *, credentials: bool = False, follow_requests: int = 0,
            nested: bool = False) -> dict[str, Any]:
    facts = view.accounts
    avatar = _asset_url(view, facts.assets.get(who.avatar_asset_id or 0), 400) or view.url("/static/avatar-missing.png")
    header = _asset_url(view, facts.assets.get(who.banner_asset_id or 0), 1280) \
        or view.url("/static/header-missing.png")
    local_uri = view.url(urls.actor(who.username))
    data: dict[str, Any] = {
        "id": str(who.id), "username": who.username, "acct": acct(who), "display_name": who.display_name or "",
        "locked": bool(who.locked), "bot": who.actor_type in ("Application", "Service"),
        "discoverable": bool(who.discoverable), "indexable": bool(who.indexable),
        "group": who.actor_type == "Group", "created_at": iso(who.created_at.replace(hour=0, minute=0, second=0,
                                                                                     microsecond=0)),
        "note": who.bio_html or "", "url": who.url if not who.is_local and who.url else view.url(_profile_path(who)),
        "uri": who.uri or local_uri, "avatar": avatar, "avatar_static": avatar, "header": header,
        "header_static": header, "followers_count": facts.followers.get(who.id, 0),
        "following_count": facts.following.get(who.id, 0), "statuses_count": facts.works.get(who.id, 0),
        "last_status_at": day(facts.last_work_at.get(who.id)), "hide_collections": False,
        "noindex": not who.indexable, "emojis": [], "roles": [], "fields": [_field(link) for link in who.links or []],
    }
    if who.status == "suspended":
        data["suspended"] = True
    if not nested and who.moved_target is not None:  # Mastodon's `moved`: the account it moved to (one level deep)
        data["moved"] = account(view, who.moved_target, nested=True)
    if credentials:
        data["source"] = {"privacy": "public", "sensitive": False, "language": None, "note": who.bio or "",
                          "fields": [{"name": link.get("name", ""), "value": link.get("url", ""), "verified_at": None}
                                     for link in who.links or []],
                          "follow_requests_count": follow_requests, "hide_collections": False,
                          "discoverable": bool(who.discoverable), "indexable": bool(who.indexable),
                          "attribution_domains": []}
        data["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
    return data


def relationship(account_id: int, relation: Relation | None) -> dict[str, Any]:
    r = relation or Relation()
    return {"id": str(account_id), "following": r.following, "showing_reblogs": r.following, "notifying": False,
            "languages": None, "followed_by": r.followed_by, "blocking": r.blocking, "blocked_by": r.blocked_by,
            "muting": r.muting, "muting_notifications": r.muting, "requested": r.requested,
            "requested_by": r.requested_by, "domain_blocking": False, "endorsed": False, "note": ""}


# --- MediaAttachment -----------------------------------------------------------------------------


def _size(width: int | None, height: int | None) -> dict[str, Any] | None:
    if not width or not height:
        return None
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": round(width / height, 4)}


def media(view: View, asset: MediaAsset, description: str) -> dict[str, Any]:
    """url is null until the protection pipeline has made the public derivatives (the original is never served)."""
    ready = asset.state == "ready" and bool(asset.derivatives)
    large = asset.best(100_000, "jpeg") if ready else None
    small = asset.best(400, "jpeg") if ready else None
    meta: dict[str, Any] = {"focus": {"x": round(asset.focal_x or 0.0, 2), "y": round(asset.focal_y or 0.0, 2)}}
    if large is not None:
        meta["original"] = _size(large.width, large.height)
    if small is not None:
        meta["small"] = _size(small.width, small.height)
    return {"id": str(asset.id), "type": "image" if ready or asset.state != "rejected" else "unknown",
            "url": view.media(large) if large else None,
            "preview_url": view.media(small) if small else None,
            "remote_url": None, "preview_remote_url": None, "text_url": None, "meta": meta,
            "description": description or None, "blurhash": asset.blurhash}


def image_media(view: View, image: ArtworkImage) -> dict[str, Any]:
    return media(view, image.asset, image.alt_text)


# --- Status --------------------------------------------------------------------------------------


def tag(view: View, name: str, *, following: bool | None = None, uses: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "url": view.url(urls.tag(name)), "history": []}
    if uses is not None:
        data["history"] = [{"day": str(int(datetime.now(UTC).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0).timestamp())),
                            "uses": str(uses), "accounts": str(uses)}]
    if following is not None:
        data["following"] = following
    return data


def artwork_html(artwork: Artwork) -> str:
    title = f"<p><strong>{html.escape(artwork.title)}</strong></p>" if artwork.title else ""
    return title + (artwork.description_html or "")


def status(view: View, work: Artwork) -> dict[str, Any]:
    facts = view.statuses
    owner = view.viewer is not None and view.viewer.id == work.account_id
    data: dict[str, Any] = {
        "id": str(work.id), "uri": work.uri or view.url(urls.artwork(work.account.username, work.id)),
        "url": work.url if work.uri and work.url else view.url(f"{_profile_path(work.account)}/{work.id}"),
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


def cara_fields(work: Artwork, owner: bool) -> dict[str, Any]:
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
        "url": comment.url or view.url(f"{_profile_path(artwork.account)}/{artwork.id}#comment-{comment.id}"),
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


# --- Notification, Marker, preferences ---------------------------------------------------------------


def notification(view: View, row: Notification, status_json: dict[str, Any] | None) -> dict[str, Any] | None:
    type_ = TYPE_OF_KIND.get(row.kind)
    if type_ is None or row.actor is None:
        return None
    data: dict[str, Any] = {"id": str(row.id), "type": type_, "created_at": iso(row.created_at),
                            "group_key": f"ungrouped-{row.id}", "account": account(view, row.actor)}
    if type_ in ("favourite", "reblog", "mention"):
        if status_json is None:
            return None  # what it was about is gone
        data["status"] = status_json
    return data


def marker(row: Marker) -> dict[str, Any]:
    return {"last_read_id": row.last_read_id, "version": row.version, "updated_at": iso(row.updated_at)}


def preferences(who: Account) -> dict[str, Any]:
    return {"posting:default:visibility": "public", "posting:default:sensitive": False,
            "posting:default:language": None, "reading:expand:media": "default", "reading:expand:spoilers": False,
            "cara:noai_default": bool(who.noai_default)}


# --- Application, Token, OAuth metadata ------------------------------------------------------------


def application(app: OAuthApp, secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(app.id), "name": app.name, "website": app.website,
                            "scopes": oauth.scope_list(app.scopes), "redirect_uri": "\n".join(app.redirect_uris),
                            "redirect_uris": list(app.redirect_uris), "vapid_key": ""}
    if secret is not None:
        data.update({"client_id": app.client_id, "client_secret": secret, "client_secret_expires_at": 0})
    return data


def token(access_token: str, scopes: str, created_at: datetime) -> dict[str, Any]:
    return {"access_token": access_token, "token_type": "Bearer", "scope": scopes,
            "created_at": int(created_at.timestamp())}


def oauth_metadata(ctx: Context, *, password_grant: bool) -> dict[str, Any]:
    grants = ["authorization_code", "client_credentials", "refresh_token"] + (["password"] if password_grant else [])
    return {"issuer": ctx.url("/"), "service_documentation": ctx.url("/about"),
            "authorization_endpoint": ctx.url("/oauth/authorize"), "token_endpoint": ctx.url("/oauth/token"),
            "revocation_endpoint": ctx.url("/oauth/revoke"), "app_registration_endpoint": ctx.url("/api/v1/apps"),
            "scopes_supported": sorted(oauth.KNOWN_SCOPES - oauth.ADMIN),
            "response_types_supported": ["code"], "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"], "grant_types_supported": grants,
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]}


# --- Instance --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFacts:
    users: int
    works: int
    domains: int
    contact: Account | None
    version: str
    contact_json: dict[str, Any] | None = None
    rules: list[dict[str, str]] = field(default_factory=list)


def rule(row: InstanceRule) -> dict[str, str]:
    """Mastodon's Rule entity: id (a string), text, hint (4.3+; empty when there is none)."""
    return {"id": str(row.id), "text": row.text, "hint": row.hint}


MIME_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic", "image/heif"]


def _limits(ctx: Context, max_characters: int) -> dict[str, Any]:
    media = ctx.config.media
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 6},
        "statuses": {"max_characters": max_characters, "max_media_attachments": media.max_images_per_artwork,
                     "characters_reserved_per_url": 23},
        "media_attachments": {"supported_mime_types": MIME_TYPES, "description_limit": 1500,
                              "image_size_limit": media.max_upload_mb * 1024 * 1024,
                              "image_matrix_limit": media.max_megapixels * 1_000_000, "video_size_limit": 0,
                              "video_frame_rate_limit": 0, "video_matrix_limit": 0},
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
    }


def streaming_url(ctx: Context) -> str:
    """Where apps open the streaming WebSocket: this server, ws(s)://."""
    return ("wss://" if ctx.config.server.scheme == "https" else "ws://") + ctx.config.server.domain


def version_string(version: str) -> str:
    return f"4.3.0 (compatible; cara-fed {version})"


def instance_v1(ctx: Context, facts: InstanceFacts, max_characters: int) -> dict[str, Any]:
    config = ctx.config
    mode = config.instance.registration
    return {
        "uri": config.server.domain, "title": config.instance.name, "short_description": config.instance.description,
        "description": config.instance.description, "email": config.instance.admin_email,
        "version": version_string(facts.version), "urls": {"streaming_api": streaming_url(ctx)},
        "stats": {"user_count": facts.users, "status_count": facts.works, "domain_count": facts.domains},
        "thumbnail": None, "languages": ["en"], "registrations": mode in ("open", "approval"),
        "approval_required": mode == "approval", "invites_enabled": mode == "invite",
        "configuration": _limits(ctx, max_characters), "contact_account": facts.contact_json,
        "rules": facts.rules,
    }


def instance_v2(ctx: Context, facts: InstanceFacts, max_characters: int) -> dict[str, Any]:
    config = ctx.config
    mode = config.instance.registration
    configuration = _limits(ctx, max_characters)
    configuration.update({"urls": {"streaming": streaming_url(ctx), "status": None, "about": ctx.url("/about"),
                                   "privacy_policy": None, "terms_of_service": None},
                          "vapid": {"public_key": ""}, "translation": {"enabled": False}})
    return {
        "domain": config.server.domain, "title": config.instance.name, "version": version_string(facts.version),
        "source_url": ctx.url("/about"), "description": config.instance.description,
        "usage": {"users": {"active_month": facts.users}},
        "thumbnail": {"url": ctx.url("/static/header-missing.png"), "blurhash": None, "versions": {}},
        "icon": [], "languages": ["en"], "configuration": configuration,
        "registrations": {"enabled": mode in ("open", "approval"), "approval_required": mode == "approval",
                          "message": None, "url": None, "min_age": None, "reason_required": mode == "approval"},
        "api_versions": {"mastodon": API_VERSION},
        "contact": {"email": config.instance.admin_email, "account": facts.contact_json},
        "rules": facts.rules,
        "cara": {"streaming": True, "noai_default": True,
                 "extensions": ctx.url("/api/cara/v1"), "features": ["portfolios", "projects", "jobs", "noai"]},
    }
