"""Mastodon's Notification, Marker and Preferences entities: what web/api/notifications.py serves."""

from __future__ import annotations

from typing import Any

from cara_fed.models import Account, Marker, Notification
from cara_fed.queries_api import TYPE_OF_KIND
from web.api.entities import View, iso
from web.api.entities_accounts import account


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
