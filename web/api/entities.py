"""Mastodon JSON (v4.3 entity shapes): the only place the client API's wire format is built, in entities*.py.

This module holds what every entity family shares: the View a page renders with, dates, status ids and
account handles. The families: entities_accounts.py (Account, Relationship), entities_media.py
(MediaAttachment), entities_statuses.py (Status, Tag, StatusEdit, StatusSource), entities_notifications.py
(Notification, Marker, Preferences), entities_oauth.py (Application, Token, OAuth metadata) and
entities_instance.py (Instance v1/v2, Rule).

An artwork is a Status whose media are its images; a comment is a Status that replies to the artwork (or to
the comment it answers). Comment status ids live above COMMENT_BASE so the two kinds never collide and both
stay numeric strings (ids above 2^53 would break JavaScript clients; these stay far below). Our own fields
(title, field, medium, licence, NoAI, AI label, processing state for the owner) ride in a `cara` object,
which Mastodon apps ignore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cara_fed import urls
from cara_fed.models import Account, MediaDerivative
from cara_fed.numbers import parse_whole
from cara_fed.queries_api import AccountFacts, StatusFacts
from cara_fed.storage import derivative_url

COMMENT_BASE = 10**15  # comment status ids: COMMENT_BASE + comment id
BOOST_BASE = 2 * 10**15  # the wrapper status of a reblog: BOOST_BASE + boost id
VISIBILITY = {"public": "public", "unlisted": "unlisted", "followers": "private"}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # Mastodon's form, milliseconds and Z: "2026-12-07T21:58:04.123Z" (isoformat is faster than strftime)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


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
    # Account entities already built for this answer, by (id, nested): a page of statuses names few authors
    # many times (entities_accounts.account; read-only once built).
    shown_accounts: dict[tuple[int, bool], dict[str, Any]] = field(default_factory=dict, repr=False)

    def url(self, path: str) -> str:
        return self.base + path

    @classmethod
    def of(cls, config: Any) -> View:
        """A view with no viewer for this instance's config."""
        return cls(base=config.base_url, media_base=config.storage.public_base_url)

    def media(self, derivative: MediaDerivative) -> str:
        return derivative_url(self.media_base, derivative, self.url)


def profile_path(account: Account) -> str:
    return urls.profile(account.username, None if account.is_local else account.domain)


def acct(account: Account) -> str:
    return account.username if account.is_local else f"{account.username}@{account.domain}"
