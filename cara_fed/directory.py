"""Looking up accounts on other servers, as the web edge needs it, without the web edge importing federation.

The composition root (cara_fed_run/app.py) installs the federation edge's implementation on the Context.
Also here: reading what a visitor types when they want to follow or like from their own server
("@you@mastodon.social" or just "mastodon.social"), so the web edge can refuse nonsense before any network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

from cara_fed.models import Account, Artwork

HANDLE_RE = re.compile(r"^@?([A-Za-z0-9_.\-]{1,64})@([A-Za-z0-9.\-]+(?::\d{1,5})?)$")
HOST_RE = re.compile(r"^(?=.{1,253}(?::\d{1,5})?$)[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*(?::\d{1,5})?$")
# What a visitor may want to do from their own server; each maps to a FEP-3b86 intent (federation decides).
Intent = Literal["follow", "like", "announce", "reply"]
INTENTS: tuple[str, ...] = ("follow", "like", "announce", "reply")


class LookupFailed(LookupError):
    """The handle or address could not be resolved; the message says why in plain words.

    `bad_input`: what was typed can never work (a 400), as opposed to a server that did not help (a 404)."""

    def __init__(self, message: str, *, bad_input: bool = False):
        super().__init__(message)
        self.bad_input = bad_input


@dataclass(frozen=True)
class HomeServer:
    """Where a visitor has their account: a full handle, or only the server's host (then username is None)."""

    host: str
    username: str | None = None

    def __str__(self) -> str:
        return f"@{self.username}@{self.host}" if self.username else self.host


class Directory(Protocol):
    async def resolve_handle(self, username: str, domain: str) -> Account:
        """Find (fetching if needed) the remote account `username@domain`. Raises LookupFailed."""
        ...

    async def resolve_uri(self, uri: str) -> Account | Artwork:
        """What `uri` names (acct:/@name@host handle, actor or object URL, ours or remote): our stored copy,
        fetched if need be. Raises LookupFailed."""
        ...

    async def confirm_alias(self, target: Account, of: Account) -> None:
        """Read `target`'s actor afresh and check that its `alsoKnownAs` names `of` (our local account), as a
        move from `of` to `target` needs. Raises LookupFailed saying what to do otherwise."""
        ...

    async def interaction_url(self, home: HomeServer, intent: Intent, target: Account | Artwork) -> str:
        """The page on the visitor's home server where they can do `intent` to our `target` (its subscribe
        template or FEP-3b86 intent, filled in). Raises LookupFailed."""
        ...


def split_handle(handle: str) -> tuple[str, str]:
    match = HANDLE_RE.match(handle.strip())
    if not match:
        raise LookupFailed("Enter a handle like @name@example.social.", bad_input=True)
    return match.group(1), match.group(2).lower()


def home_server(text: str) -> HomeServer:
    """Read "@you@server", "you@server", "acct:you@server", "server" or "https://server/…" (a pasted address).

    Raises LookupFailed(bad_input=True) for anything else."""
    value = text.strip()
    if value.lower().startswith("acct:"):
        value = value[5:]
    if value.lower().startswith(("http://", "https://")):
        value = urlsplit(value).netloc.rpartition("@")[2]  # a pasted profile address: its server is enough
    if "@" in value.lstrip("@"):
        username, host = split_handle(value)
        return HomeServer(host, username)
    host = value.lstrip("@").rstrip("/").lower()
    dotted = "." in host.split(":")[0] or host.split(":")[0] == "localhost"
    if not host or not HOST_RE.match(host) or not dotted:
        raise LookupFailed("Enter your handle (like @you@mastodon.social) or your server (like mastodon.social).",
                           bad_input=True)
    return HomeServer(host)
