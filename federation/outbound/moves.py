"""The Move we send when a local account moves (issue 18), in Mastodon's shape:
`{"type": "Move", "actor": old, "object": old, "target": new}` to the followers' inboxes.
"""

from __future__ import annotations

from cara_fed.context import Context
from cara_fed.models import Account
from federation.outbound.outbox import _record, event_id, follower_inboxes
from federation.wire import serialize as s


async def send_move(ctx: Context, account_id: int | str) -> None:
    """Move(actor -> target) to every follower's inbox, once per move (the id covers when it moved)."""
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
