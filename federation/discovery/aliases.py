"""The alias check a move needs (issue 18): the new actor's `alsoKnownAs`, read afresh, must name the old one."""

from __future__ import annotations

from cara_fed.context import Context
from cara_fed.directory import LookupFailed
from cara_fed.models import Account
from federation.discovery import resolver
from federation.discovery.net import FetchError
from federation.wire import serialize as s


async def confirm_alias(ctx: Context, target: Account, of: Account) -> None:
    """`target`'s own document, read now, must list `of` in `alsoKnownAs` (else LookupFailed saying so)."""
    if target.is_local or not target.uri:
        raise LookupFailed("Moving to another account on this server is not supported.")
    try:
        _, aliases = await resolver.fresh_actor(ctx, target.uri)
    except (resolver.ResolveError, FetchError) as exc:
        raise LookupFailed(f"Could not read {target.uri[:200]}: {exc.message[:160]}") from None
    mine = s.actor_id(ctx, of)
    if mine not in aliases:
        handle = f"@{of.username}@{ctx.config.server.domain}"
        raise LookupFailed(f"The account at {target.uri[:200]} does not list {handle} ({mine}) as an alias "
                           "(alsoKnownAs). Add this account as an alias on the new server first, then try again.")
