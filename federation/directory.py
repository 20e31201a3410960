"""The core's Directory interface (cara_fed/directory.py), answered by WebFinger and actor fetches."""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.directory import LookupFailed
from cara_fed.errors import PermissionDenied
from cara_fed.models import Account
from federation import resolver
from federation.net import FetchError

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
