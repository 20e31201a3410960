"""Blocks and mutes between accounts, local and remote.

A block ends follows both ways, refuses new ones (a remote Follow gets a Reject), hides followers-only works
(they need an accepted follow) and hides the blocked account's works from the blocker. A local account's
block of a remote one is federated as Block (and Undo(Block)): the federation edge reacts to the events
emitted here (AccountBlocked, AccountUnblocked, FollowCancelled). Mutes are local only: they hide works, nothing else.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, or_, select

from cara_fed.context import Context, Transaction
from cara_fed.errors import ValidationError
from cara_fed.events import AccountBlocked, AccountUnblocked, FollowCancelled, emit
from cara_fed.models import Account, Block, Follow, Mute
from cara_fed.states import transition


async def _end_follows(tx: Transaction, ctx: Context, a: Account, b: Account) -> None:
    """Cancel follows and requests between a and b, in both directions; tell remote followees we left."""
    rows = await tx.session.scalars(select(Follow).where(
        or_((Follow.follower_id == a.id) & (Follow.followee_id == b.id),
            (Follow.follower_id == b.id) & (Follow.followee_id == a.id)),
        Follow.state.in_(("requested", "accepted"))))
    for follow in rows.unique().all():
        transition(follow, "cancelled")
        if follow.follower.is_local and not follow.followee.is_local:
            emit(ctx, tx, FollowCancelled(follow.id))


def _check_pair(account: Account, target: Account, what: str) -> None:
    if account.id == target.id:
        raise ValidationError({what: f"You cannot {what} yourself."})
    if not account.is_local:
        raise ValueError(f"{what} is for local accounts; remote ones arrive through receive_block")
    if target.kind == "application":
        raise ValidationError({what: f"You cannot {what} a server's own account; ask a moderator instead."})


async def block(ctx: Context, account: Account, target: Account) -> Block:
    _check_pair(account, target, "block")
    async with ctx.transaction() as tx:
        row = await tx.session.scalar(select(Block).where(Block.account_id == account.id,
                                                          Block.target_id == target.id))
        if row is not None:
            return row
        row = Block(account_id=account.id, target_id=target.id)
        tx.session.add(row)
        await tx.session.flush()
        row.uri = ctx.url(f"/blocks/{row.id}-{secrets.token_hex(4)}")
        await _end_follows(tx, ctx, account, target)
        if not target.is_local:
            emit(ctx, tx, AccountBlocked(row.id))
    return row


async def unblock(ctx: Context, account: Account, target: Account) -> None:
    async with ctx.transaction() as tx:
        row = await tx.session.scalar(select(Block).where(Block.account_id == account.id,
                                                          Block.target_id == target.id))
        if row is None:
            return
        uri = row.uri or ""
        await tx.session.delete(row)
        if not target.is_local and uri:
            # The row is gone by the time the job runs: it gets what the Undo needs.
            emit(ctx, tx, AccountUnblocked(account.id, target.id, uri))


async def receive_block(ctx: Context, sender: Account, target: Account, activity_uri: str) -> None:
    """Inbound Block from a remote account: recorded, so its target here cannot follow it again."""
    async with ctx.transaction() as tx:
        row = await tx.session.scalar(select(Block).where(Block.account_id == sender.id,
                                                          Block.target_id == target.id))
        if row is None:
            row = Block(account_id=sender.id, target_id=target.id, uri=activity_uri or None)
            tx.session.add(row)
        await _end_follows(tx, ctx, sender, target)


async def receive_unblock(ctx: Context, sender: Account, target: Account) -> bool:
    async with ctx.transaction() as tx:
        result = await tx.session.execute(delete(Block).where(Block.account_id == sender.id,
                                                              Block.target_id == target.id))
    return bool(result.rowcount)


async def mute(ctx: Context, account: Account, target: Account) -> None:
    _check_pair(account, target, "mute")
    async with ctx.transaction() as tx:
        if await tx.session.scalar(select(Mute.id).where(Mute.account_id == account.id,
                                                         Mute.target_id == target.id)) is None:
            tx.session.add(Mute(account_id=account.id, target_id=target.id))


async def unmute(ctx: Context, account: Account, target: Account) -> None:
    async with ctx.transaction() as tx:
        await tx.session.execute(delete(Mute).where(Mute.account_id == account.id, Mute.target_id == target.id))
