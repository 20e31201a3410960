"""The core's Directory interface (cara_fed/directory.py), answered by WebFinger and actor fetches."""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.directory import LookupFailed
from cara_fed.models import Account

log = logging.getLogger(__name__)


class FederationDirectory:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    async def resolve_handle(self, username: str, domain: str) -> Account:
        from federation import resolver  # the inbound edge; imported late so a partial edge still starts

        try:
            return await resolver.webfinger(self.ctx, f"{username}@{domain}")
        except Exception as exc:  # network, policy, parse: all become one plain message for the person
            log.info("lookup of %s@%s failed: %s", username, domain, exc)
            reason = getattr(exc, "reason", None) or getattr(exc, "message", None) or str(exc) or type(exc).__name__
            raise LookupFailed(f"Could not find @{username}@{domain}: {reason}") from exc
