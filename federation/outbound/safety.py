"""Outbound Block, Undo(Block) and Flag (inbound Flag is handlers.on_flag).

Block goes from the blocker to the blocked account's own inbox; Flag goes from our instance actor to the
reported account's server (shared inbox first), in Mastodon's shape: object = [actor, object…], content =
the reason. Neither names the reporter's account.
"""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, Block, Report
from cara_fed.services import deliveries, reports
from cara_fed.services.accounts import ensure_instance_actor
from federation.outbound.outbox import event_id
from federation.wire import serialize as s


def _inbox(account: Account) -> list[str]:
    return [account.inbox_url or account.shared_inbox_url or ""]


async def _record(ctx: Context, actor: Account, activity: dict, inboxes: list[str]) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        await deliveries.record_outgoing(ctx, tx, actor, activity, inboxes=inboxes)


async def send_block(ctx: Context, block_id: int | str) -> None:
    async with ctx.sessions() as session:
        row = await session.get(Block, int(block_id))
        blocker = await session.get(Account, row.account_id) if row is not None else None
    if row is None or blocker is None or not blocker.is_local or row.target.is_local or not row.uri:
        return  # unblocked again before we got here, or nothing to tell
    target = s.actor_id(ctx, row.target)
    await _record(ctx, blocker, s.activity(ctx, "Block", blocker, target, to=[target], id_=row.uri),
                  _inbox(row.target))


async def send_undo_block(ctx: Context, account_id: int | str, target_id: int | str, block_uri: str) -> None:
    async with ctx.sessions() as session:
        blocker = await session.get(Account, int(account_id))
        target = await session.get(Account, int(target_id))
        again = await session.scalar(select(Block.id).where(Block.account_id == int(account_id),
                                                            Block.target_id == int(target_id)))
    if blocker is None or target is None or target.is_local or again is not None:
        return  # blocked again meanwhile: the Undo would be wrong
    target_uri = s.actor_id(ctx, target)
    undone = {"id": block_uri, "type": "Block", "actor": s.actor_id(ctx, blocker), "object": target_uri}
    undo = s.activity(ctx, "Undo", blocker, undone, to=[target_uri], id_=event_id(ctx, f"undo-block:{block_uri}"))
    await _record(ctx, blocker, undo, _inbox(target))


async def send_flag(ctx: Context, report_id: int | str) -> None:
    """Forward a report about remote content to its server, as our instance actor."""
    async with ctx.sessions() as session:
        report = await session.get(Report, int(report_id))
        work = await session.get(Artwork, report.artwork_id) if report and report.artwork_id else None
    if report is None or report.origin != "local" or report.target.is_local or not report.uri:
        return
    instance = await ensure_instance_actor(ctx)
    objects = [s.actor_id(ctx, report.target)] + ([work.uri] if work is not None and work.uri else [])
    flag = s.activity(ctx, "Flag", instance, objects, to=[objects[0]], id_=report.uri)
    flag["content"] = report.reason
    target = report.target
    await _record(ctx, instance, flag, [target.shared_inbox_url or target.inbox_url or ""])
    await reports.mark_forwarded(ctx, report.id)
