"""The Move we receive from a remote actor (issue 18): accepted when signed by its actor, about itself,
and its target (fetched afresh, or one of ours) lists the actor in `alsoKnownAs`; anything else is refused
with the reason on the inbox row and in the log.
"""

from __future__ import annotations

import logging

from cara_fed.context import Context
from cara_fed.models import Account
from cara_fed.services import moves
from cara_fed.services.inbox import Received
from federation.discovery import resolver
from federation.discovery.local import local_from
from federation.inbound.outcome import Ignored
from federation.wire.parse import Activity
from federation.wire.parse_values import iri

log = logging.getLogger(__name__)


async def on_move(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    """A remote actor moved (to another server, or here): check it, then our followers of it follow the new
    actor (services/moves.py)."""
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
