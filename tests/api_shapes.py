"""Mastodon's documented entities (docs.joinmastodon.org/entities, v4.3), field by field: name -> allowed types.
`check(name, value)` asserts every documented attribute is present with a documented type, recursing into the
entities a field holds (a Status's account, media, tags…). Nullable attributes list type(None)."""

from __future__ import annotations

import re
from typing import Any

NONE = type(None)
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
ID = re.compile(r"^\d+$")


def _datetime(value: Any) -> bool:
    return isinstance(value, str) and bool(DATETIME.match(value))


def _id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID.match(value))


SHAPES: dict[str, dict[str, Any]] = {
    "Account": {
        "id": _id, "username": str, "acct": str, "url": str, "display_name": str, "note": str, "avatar": str,
        "avatar_static": str, "header": str, "header_static": str, "locked": bool, "fields": ("list", "Field"),
        "emojis": list, "bot": bool, "group": bool, "discoverable": (bool, NONE), "noindex": (bool, NONE),
        "created_at": _datetime, "last_status_at": (str, NONE), "statuses_count": int, "followers_count": int,
        "following_count": int, "uri": str, "indexable": bool, "hide_collections": (bool, NONE), "roles": list,
    },
    "Field": {"name": str, "value": str, "verified_at": (str, NONE)},
    "Status": {
        "id": _id, "uri": str, "created_at": _datetime, "account": "Account", "content": str, "visibility": str,
        "sensitive": bool, "spoiler_text": str, "media_attachments": ("list", "MediaAttachment"),
        "application": (dict, NONE), "mentions": list, "tags": ("list", "Tag"), "emojis": list, "reblogs_count": int,
        "favourites_count": int, "replies_count": int, "url": (str, NONE), "in_reply_to_id": (str, NONE),
        "in_reply_to_account_id": (str, NONE), "reblog": ("Status", NONE), "poll": (dict, NONE),
        "card": (dict, NONE), "language": (str, NONE), "edited_at": (str, NONE),
    },
    "MediaAttachment": {
        "id": _id, "type": str, "url": (str, NONE), "preview_url": (str, NONE), "remote_url": (str, NONE),
        "meta": dict, "description": (str, NONE), "blurhash": (str, NONE),
    },
    "Tag": {"name": str, "url": str, "history": list},
    "Notification": {"id": _id, "type": str, "created_at": _datetime, "account": "Account", "group_key": str},
    "Relationship": {
        "id": _id, "following": bool, "showing_reblogs": bool, "notifying": bool, "followed_by": bool,
        "blocking": bool, "blocked_by": bool, "muting": bool, "muting_notifications": bool, "requested": bool,
        "requested_by": bool, "domain_blocking": bool, "endorsed": bool, "note": str,
    },
    "Context": {"ancestors": ("list", "Status"), "descendants": ("list", "Status")},
    "Application": {"name": str, "website": (str, NONE), "scopes": list, "redirect_uris": list},
    "CredentialApplication": {"id": _id, "name": str, "website": (str, NONE), "scopes": list, "redirect_uri": str,
                              "redirect_uris": list, "client_id": str, "client_secret": str,
                              "client_secret_expires_at": int},
    "Token": {"access_token": str, "token_type": str, "scope": str, "created_at": int},
    "InstanceV1": {
        "uri": str, "title": str, "short_description": str, "description": str, "email": str, "version": str,
        "urls": dict, "stats": dict, "thumbnail": (str, NONE), "languages": list, "registrations": bool,
        "approval_required": bool, "invites_enabled": bool, "configuration": dict,
        "contact_account": ("Account", NONE), "rules": list,
    },
    "InstanceV2": {
        "domain": str, "title": str, "version": str, "source_url": str, "description": str, "usage": dict,
        "thumbnail": dict, "icon": list, "languages": list, "configuration": dict, "registrations": dict,
        "api_versions": dict, "contact": dict, "rules": list,
    },
}


def check(name: str, value: Any, where: str = "") -> None:
    where = where or name
    assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
    for attribute, expected in SHAPES[name].items():
        assert attribute in value, f"{where}: missing {attribute!r} ({sorted(value)})"
        _check_value(expected, value[attribute], f"{where}.{attribute}")


def _check_value(expected: Any, value: Any, where: str) -> None:
    if isinstance(expected, str):
        check(expected, value, where)
    elif callable(expected) and not isinstance(expected, type):
        assert expected(value), f"{where}: {value!r} is not of the documented form"
    elif isinstance(expected, tuple) and expected and expected[0] == "list":
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for index, item in enumerate(value):
            check(expected[1], item, f"{where}[{index}]")
    elif isinstance(expected, tuple):
        for option in expected:
            if option is NONE and value is None:
                return
            if isinstance(option, str) and isinstance(value, dict):
                check(option, value, where)
                return
            if isinstance(option, type) and option is not NONE and isinstance(value, option) \
                    and not (option is int and isinstance(value, bool)):
                return
        raise AssertionError(f"{where}: {value!r} is none of {expected}")
    else:
        assert isinstance(value, expected) and not (expected is int and isinstance(value, bool)), \
            f"{where}: expected {expected.__name__}, got {value!r}"
