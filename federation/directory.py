"""The core's Directory interface (cara_fed/directory.py), answered by WebFinger and actor fetches."""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.directory import HomeServer, Intent, LookupFailed
from cara_fed.errors import PermissionDenied
from cara_fed.models import Account, Artwork
from federation.discovery import resolver
from federation.discovery.aliases import confirm_alias
from federation.discovery.lookup import resolve_uri
from federation.discovery.net import FetchError
from federation.discovery.remote_interaction import interaction_url
from federation.wire.serialize import actor_id, artwork_id, profile_url

log = logging.getLogger(__name__)


class FederationDirectory:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    async def resolve_handle(self, username: str, domain: str) -> Account:
        try:
            return await resolver.webfinger(self.ctx, f"{username}@{domain}")
        except (resolver.ResolveError, FetchError) as exc:  # network, policy, document: the reason is ours to say
            log.info("lookup of %s@%s failed: %s", username, domain, exc)
            raise LookupFailed(f"Could not find @{username}@{domain}: {exc.message}") from exc
        except PermissionDenied as exc:
            raise LookupFailed(f"Could not find @{username}@{domain}: {exc}") from exc
        except Exception as exc:  # a bug or a database error: its text (SQL, parameters) is not for the person
            log.exception("lookup of %s@%s failed unexpectedly", username, domain)
            raise LookupFailed(f"Could not look up @{username}@{domain} right now: something went wrong on our "
                               "side (it has been logged). Please try again later.") from exc

    async def resolve_uri(self, uri: str) -> Account | Artwork:
        return await resolve_uri(self.ctx, uri)

    async def confirm_alias(self, target: Account, of: Account) -> None:
        await confirm_alias(self.ctx, target, of)

    async def interaction_url(self, home: HomeServer, intent: Intent, target: Account | Artwork) -> str:
        if isinstance(target, Artwork):
            uri = page = artwork_id(self.ctx, target)
            if target.url and not target.account.is_local:
                page = target.url
        else:
            uri, page = actor_id(self.ctx, target), profile_url(self.ctx, target)
        return await interaction_url(self.ctx, home, intent, uri, page)
