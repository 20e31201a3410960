"""Moving an account between servers, Mastodon's way (issue 18).

Aliases: the artist names the actors they also are (`alsoKnownAs`), so that an old account elsewhere may move
here. Moving out: after the federation edge has checked that the new actor lists ours as an alias, the
account is marked moved (`movedTo`), the federation edge sends `Move` to the followers, and new follows are
refused. Moving in: a remote actor that moved has our local followers re-pointed (a Follow to the new actor,
the old follow ended). The checks that need the network live in the federation edge; this module records.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import AccountMoved, AccountUpdated, emit
from cara_fed.models import Account, Follow
from cara_fed.services import follows

log = logging.getLogger(__name__)

MOVE_COOLDOWN = timedelta(days=30)  # Mastodon's: one move per 30 days, so followers are not bounced around
MAX_ALIASES = 10


async def _local(session, account_id: int) -> Account:  # type: ignore[no-untyped-def]
    account = await session.get(Account, account_id)
    if account is None or not account.is_local:
        raise NotFound("No such account.")
    return account


async def add_alias(ctx: Context, account_id: int, alias: Account) -> Account:
    """Add a remote actor (already resolved by the directory) to the account's `alsoKnownAs`."""
    if alias.is_local or not alias.uri:
        raise ValidationError({"alias": "Name your account on another server; this one is already yours."})
    async with ctx.transaction() as tx:
        account = await _local(tx.session, account_id)
        known = list(account.also_known_as or [])
        if alias.uri in known:
            return account
        if len(known) >= MAX_ALIASES:
            raise ValidationError({"alias": f"You can name at most {MAX_ALIASES} other accounts."})
        account.also_known_as = [*known, alias.uri]
        emit(ctx, tx, AccountUpdated(account.id))
    return account


async def remove_alias(ctx: Context, account_id: int, uri: str) -> Account:
    async with ctx.transaction() as tx:
        account = await _local(tx.session, account_id)
        known = list(account.also_known_as or [])
        if uri in known:
            account.also_known_as = [u for u in known if u != uri]
            emit(ctx, tx, AccountUpdated(account.id))
    return account


def _cooldown_error(account: Account) -> str | None:
    if account.moved_at is not None and utcnow() - account.moved_at < MOVE_COOLDOWN:
        until = (account.moved_at + MOVE_COOLDOWN).strftime("%Y-%m-%d")
        return f"This account moved less than 30 days ago; it can move again from {until}."
    return None


async def check_move(ctx: Context, account_id: int, password: str) -> None:
    """Before any network: the password is right and the account may move now (ValidationError otherwise)."""
    async with ctx.sessions() as session:
        account = await _local(session, account_id)
    errors = {}
    if not await ctx.hashing.verify(account.password_hash, password):
        errors["password"] = "Your password is not right."
    elif (cooldown := _cooldown_error(account)) is not None:
        errors["target"] = cooldown
    if errors:
        raise ValidationError(errors)


async def move(ctx: Context, account_id: int, target: Account) -> Account:
    """Mark a local account as moved to `target`, whose `alsoKnownAs` the federation edge has checked. After
    commit: Move to the followers elsewhere, Update(actor) with `movedTo`; followers here are re-pointed."""
    if target.is_local or not target.uri:
        raise ValidationError({"target": "Moving to another account on this server is not supported."})
    async with ctx.transaction() as tx:
        account = await _local(tx.session, account_id)
        if (cooldown := _cooldown_error(account)) is not None:
            raise ValidationError({"target": cooldown})
        account.moved_to_id, account.moved_at = target.id, utcnow()
        emit(ctx, tx, AccountMoved(account.id))
        emit(ctx, tx, AccountUpdated(account.id))
    log.info("account %s moved to %s", account.username, target.uri)
    await repoint_followers(ctx, account, target)
    return account


async def remote_moved(ctx: Context, old: Account, new: Account) -> int:
    """A remote actor moved (its Move was checked by the federation edge): remember where it went and move our
    followers along. Returns how many local followers were re-pointed."""
    if old.is_local or new.id == old.id:
        raise PermissionDenied("Only a remote actor can move here, and not onto itself.")
    async with ctx.transaction() as tx:
        stored = await tx.session.get(Account, old.id)
        assert stored is not None
        stored.moved_to_id, stored.moved_at = new.id, utcnow()
    return await repoint_followers(ctx, old, new)


async def repoint_followers(ctx: Context, old: Account, new: Account) -> int:
    """Each local follower of `old` follows `new` (unless a block stands between them) and stops following
    `old`. Idempotent: a follower already following `new` keeps that follow."""
    async with ctx.sessions() as session:
        followers = list((await session.scalars(
            select(Account).join(Follow, Follow.follower_id == Account.id)
            .where(Follow.followee_id == old.id, Follow.state.in_(("requested", "accepted")),
                   Account.domain.is_(None), Account.status == "active"))).unique().all())
    for follower in followers:
        if follower.id == new.id:
            continue
        try:
            await follows.request_follow(ctx, follower, new)
        except (PermissionDenied, ValidationError) as exc:  # a block between them: only the old follow ends
            log.info("not moving %s's follow to %s: %s", follower.username, new.uri, exc)
        await follows.unfollow(ctx, follower, old)
    return len(followers)
