"""The core's Directory interface (cara_fed/directory.py), answered by WebFinger and actor fetches."""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.directory import HomeServer, Intent, LookupFailed
from cara_fed.models import Account, Artwork

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

    async def resolve_uri(self, uri: str) -> Account | Artwork:
        from federation.lookup import resolve_uri

        return await resolve_uri(self.ctx, uri)

    async def interaction_url(self, home: HomeServer, intent: Intent, target: Account | Artwork) -> str:
        from federation.remote_interaction import interaction_url
        from federation.serialize import actor_id, artwork_id, profile_url

        if isinstance(target, Artwork):
            uri = page = artwork_id(self.ctx, target)
            if target.url and not target.account.is_local:
                page = target.url
        else:
            uri, page = actor_id(self.ctx, target), profile_url(self.ctx, target)
        return await interaction_url(self.ctx, home, intent, uri, page)
