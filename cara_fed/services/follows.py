"""Follow relationships, local and remote. Services record state; the federation edge reacts to the
events emitted here (FollowRequested, FollowAccepted, FollowRejected, FollowCancelled) by sending activities."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import FollowAccepted, FollowCancelled, FollowRejected, FollowRequested, emit
from cara_fed.models import Account, Follow
from cara_fed.queries_safety import blocked_either_way
from cara_fed.services.notifications import notify
from cara_fed.states import transition


async def _pair(session, follower_id: int, followee_id: int) -> Follow | None:  # type: ignore[no-untyped-def]
    return await session.scalar(select(Follow).where(Follow.follower_id == follower_id,
                                                     Follow.followee_id == followee_id))


async def request_follow(ctx: Context, follower: Account, followee: Account) -> Follow:
    """A local account follows anyone. Local targets accept at once unless locked; remote ones get a Follow."""
    if follower.id == followee.id:
        raise ValidationError({"follow": "You cannot follow yourself."})
    if not follower.is_local:
        raise ValueError("request_follow is for local followers; use receive_follow for remote ones")
    async with ctx.transaction() as tx:
        tx.touches(follower.id, followee.id)  # their AP collections (anonymous pages show no follows)
        if await blocked_either_way(tx.session, follower.id, followee.id):
            raise PermissionDenied("You cannot follow this account: one of you has blocked the other.")
        existing = await _pair(tx.session, follower.id, followee.id)
        if existing is not None and existing.state in ("requested", "accepted"):
            return existing
        if followee.moved_to_id is not None:  # services/moves.py: follow the new account instead
            raise PermissionDenied("This account has moved; follow its new account instead.")
        if existing is not None:  # cancelled or rejected earlier: start afresh
            await tx.session.delete(existing)
            await tx.session.flush()
        follow = Follow(follower_id=follower.id, followee_id=followee.id)
        tx.session.add(follow)
        await tx.session.flush()
        # SQLite may reuse a deleted row's id; the random part keeps every Follow activity id unique.
        follow.uri = ctx.url(f"/follows/{follow.id}-{secrets.token_hex(4)}")
        if followee.is_local and not followee.locked:
            transition(follow, "accepted")
        if followee.is_local:
            notify(tx, followee, "follow" if follow.state == "accepted" else "follow_request", actor=follower,
                   object_type="follow", object_id=follow.id)
        else:
            emit(ctx, tx, FollowRequested(follow.id))
    return follow


async def receive_follow(ctx: Context, follower: Account, followee: Account, activity_uri: str) -> Follow:
    """A remote account follows a local one (inbound Follow). Idempotent per pair."""
    if not followee.is_local:
        raise NotFound("That account is not on this instance.")
    async with ctx.transaction() as tx:
        tx.touches(follower.id, followee.id)  # their AP collections (anonymous pages show no follows)
        existing = await _pair(tx.session, follower.id, followee.id)
        if existing is not None and existing.state == "accepted":
            # They may have missed our Accept: answer this new Follow (by its id) once more.
            existing.uri = activity_uri
            emit(ctx, tx, FollowAccepted(existing.id))
            return existing
        if existing is not None and existing.state == "requested":
            return existing
        if existing is not None:
            await tx.session.delete(existing)
            await tx.session.flush()
        follow = Follow(follower_id=follower.id, followee_id=followee.id, uri=activity_uri)
        tx.session.add(follow)
        await tx.session.flush()
        if followee.moved_to_id is not None or await blocked_either_way(tx.session, follower.id, followee.id):
            # Refused at once (blocked, or the account moved away); the Reject tells their server.
            transition(follow, "rejected")
            emit(ctx, tx, FollowRejected(follow.id))
        elif not followee.locked:
            transition(follow, "accepted")
            emit(ctx, tx, FollowAccepted(follow.id))
        if follow.state != "rejected":  # a blocked account's request is refused silently
            notify(tx, followee, "follow" if follow.state == "accepted" else "follow_request", actor=follower,
                   object_type="follow", object_id=follow.id)
    return follow


async def decide_request(ctx: Context, owner: Account, follow_id: int, approve: bool) -> Follow:
    """The followee approves or rejects a pending request (locked accounts)."""
    async with ctx.transaction() as tx:
        follow = await tx.session.get(Follow, follow_id)
        if follow is None or follow.state != "requested":
            raise NotFound("No such pending follow request.")
        if follow.followee_id != owner.id:
            raise PermissionDenied("This request was not sent to you.")
        tx.touches(follow.follower_id, follow.followee_id)
        transition(follow, "accepted" if approve else "rejected")
        if not follow.follower.is_local:
            emit(ctx, tx, (FollowAccepted if approve else FollowRejected)(follow.id))
    return follow


async def remote_answered(ctx: Context, follower: Account, followee: Account, accepted: bool) -> Follow | None:
    """Inbound Accept/Reject of a Follow we sent. Unknown or already-settled pairs are a no-op."""
    async with ctx.transaction() as tx:
        tx.touches(follower.id, followee.id)
        follow = await _pair(tx.session, follower.id, followee.id)
        if follow is None or follow.state != "requested":
            return follow
        transition(follow, "accepted" if accepted else "rejected")
    return follow


async def unfollow(ctx: Context, follower: Account, followee: Account) -> None:
    """Stop following. A remote followee is told with Undo(Follow)."""
    async with ctx.transaction() as tx:
        tx.touches(follower.id, followee.id)
        follow = await _pair(tx.session, follower.id, followee.id)
        if follow is None or follow.state not in ("requested", "accepted"):
            return
        transition(follow, "cancelled")
        if not followee.is_local:
            emit(ctx, tx, FollowCancelled(follow.id))


async def remote_unfollowed(ctx: Context, follower: Account, followee: Account) -> None:
    """Inbound Undo(Follow), or a Block/Delete that ends the relationship."""
    async with ctx.transaction() as tx:
        tx.touches(follower.id, followee.id)
        follow = await _pair(tx.session, follower.id, followee.id)
        if follow is not None and follow.state in ("requested", "accepted"):
            transition(follow, "cancelled")
