"""Account moves on the wire (issue 18): the Move we send when a local account moves, the Move we receive
from a remote actor, and the alias check both need (the new actor's `alsoKnownAs` must name the old one).

What we send is Mastodon's shape: `{"type": "Move", "actor": old, "object": old, "target": new}` to the
followers' inboxes. What we accept: a Move signed by its actor, about itself, whose target (fetched afresh)
lists the actor in `alsoKnownAs`; anything else is refused with the reason on the inbox row and in the log.
"""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.directory import LookupFailed
from cara_fed.models import Account
from cara_fed.services import moves
from cara_fed.services.inbox import Received
from federation.discovery import resolver
from federation.discovery.net import FetchError
from federation.outbound.outbox import _record, event_id, follower_inboxes
from federation.wire.parse import Activity, iri

log = logging.getLogger(__name__)


async def send_move(ctx: Context, account_id: int | str) -> None:
    """Move(actor -> target) to every follower's inbox, once per move (the id covers when it moved)."""
    from federation.wire import serialize as s

    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        if account is None or not account.is_local or account.moved_target is None or account.moved_at is None:
            return
        inboxes = await follower_inboxes(session, account.id)
    me, target = s.actor_id(ctx, account), s.actor_id(ctx, account.moved_target)
    move = s.activity(ctx, "Move", account, me, to=[s.followers_id(ctx, account)],
                      id_=event_id(ctx, f"move:{account.id}:{target}:{account.moved_at.isoformat()}"))
    move["target"] = target
    await _record(ctx, account, move, inboxes)


async def confirm_alias(ctx: Context, target: Account, of: Account) -> None:
    """`target`'s own document, read now, must list `of` in `alsoKnownAs` (else LookupFailed saying so)."""
    from federation.wire import serialize as s

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


async def on_move(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    """A remote actor moved (to another server, or here): check it, then our followers of it follow the new
    actor (services/moves.py)."""
    from federation.inbound.handlers import Ignored, local_from

    target = iri(act.target)
    if act.object_id != sender.uri:
        raise Ignored("a Move may only move its own actor")
    if not target or target == sender.uri:
        raise Ignored(f"the Move's target {str(target)[:200]} is not another actor")
    if resolver.is_local(ctx, target):  # moving here: one of our artists added the old account as an alias
        local = await local_from(ctx, target)
        if local is None or local.kind == "application":
            raise Ignored(f"the Move's target {target[:200]} is not one of our artists")
        new, aliases = local, list(local.also_known_as or [])
    else:
        new, aliases = await resolver.fresh_actor(ctx, target)
    if sender.uri not in aliases:
        log.warning("refused Move of %s to %s: the target does not list it in alsoKnownAs", sender.uri, target)
        raise Ignored(f"refused: {target[:200]} does not list {sender.uri} in alsoKnownAs")
    moved = await moves.remote_moved(ctx, sender, new)
    log.info("%s moved to %s; %d local follower(s) re-pointed", sender.uri, target, moved)
