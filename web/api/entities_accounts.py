"""Mastodon's Account and Relationship entities (the shared View and handles are in entities.py)."""

from __future__ import annotations

import html
import re
from typing import Any

from cara_fed import urls
from cara_fed.models import Account, MediaAsset
from cara_fed.queries_api import Relation
from web.api.entities import View, acct, day, iso, profile_path


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
    if not credentials:  # the same author on many statuses of a page: built once
        built = view.shown_accounts.get((who.id, nested))
        if built is None:
            built = view.shown_accounts[(who.id, nested)] = _account(view, who, nested=nested)
        return built
    return _account(view, who, credentials=True, follow_requests=follow_requests, nested=nested)


def _account(view: View, who: Account, *, credentials: bool = False, follow_requests: int = 0,
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
        "note": who.bio_html or "", "url": who.url if not who.is_local and who.url else view.url(profile_path(who)),
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
