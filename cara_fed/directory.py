"""Looking up accounts on other servers, as the web edge needs it, without the web edge importing federation.

The composition root (cara_fed/app.py) installs the federation edge's implementation on the Context.
"""

from __future__ import annotations

import re
from typing import Protocol

from cara_fed.models import Account

HANDLE_RE = re.compile(r"^@?([A-Za-z0-9_.\-]{1,64})@([A-Za-z0-9.\-]+(?::\d{1,5})?)$")


class LookupFailed(LookupError):
    """The handle could not be resolved; the message says why in plain words."""


class Directory(Protocol):
    async def resolve_handle(self, username: str, domain: str) -> Account:
        """Find (fetching if needed) the remote account `username@domain`. Raises LookupFailed."""
        ...


def split_handle(handle: str) -> tuple[str, str]:
    match = HANDLE_RE.match(handle.strip())
    if not match:
        raise LookupFailed("Enter a handle like @name@example.social.")
    return match.group(1), match.group(2).lower()
