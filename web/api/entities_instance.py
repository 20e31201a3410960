"""Mastodon's Instance entity (v1 and v2, with our limits and streaming URL) and its Rule entity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cara_fed.context import Context
from cara_fed.models import Account
from cara_fed.models.moderation import InstanceRule

API_VERSION = 2  # Mastodon 4.3's api_versions.mastodon


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
