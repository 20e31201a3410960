"""The inbox worker: `process_inbox(ctx, id)` reads a stored activity and hands it to HANDLERS[type].

Handlers only call core services. The outcome lands on the InboxItem: processed, ignored (with the
reason: not for us, not allowed, not a type we use), failed (unreadable), or retry (the network let us
down; the sweep re-queues it, at most 5 attempts).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from cara_fed import tasks
from cara_fed.context import Context
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.models import Account, Follow
from cara_fed.services import follows, remote, reports, safety
from cara_fed.services import inbox as inbox_service
from cara_fed.services.inbox import Received
from federation.discovery import resolver
from federation.discovery.local import local_artwork_from, local_from
from federation.discovery.net import FetchError
from federation.inbound import job_posts, moves, social
from federation.inbound import prefetch as inbox_prefetch
from federation.inbound.outcome import Ignored
from federation.inbound.policy import followed_here
from federation.wire import parse, parse_actors, parse_artworks
from federation.wire.parse import Activity
from federation.wire.parse_values import iri, type_of

log = logging.getLogger(__name__)


Handler = Callable[[Context, Activity, Account, Received], Awaitable[None]]


async def _follow_by_uri(ctx: Context, uri: str | None) -> Follow | None:
    if not uri:
        return None
    async with ctx.sessions() as session:
        return await session.scalar(select(Follow).where(Follow.uri == uri))


async def on_follow(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    target = await local_from(ctx, act.object_id)
    if target is None or target.kind == "application":
        raise Ignored("the Follow is not for one of our accounts")
    await follows.receive_follow(ctx, sender, target, act.id)


async def on_answer(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    """Accept/Reject of a Follow we sent: by its id, or an embedded Follow naming both sides."""
    accepted = act.type == "Accept"
    follow = await _follow_by_uri(ctx, act.object_id)
    if follow is not None:
        follower = follow.follower
        if follow.followee_id != sender.id:
            raise Ignored("only the followed account may answer a Follow")
    elif isinstance(act.object, dict) and type_of(act.object) == "Follow" \
            and iri(act.object.get("object")) == sender.uri:
        follower = await local_from(ctx, iri(act.object.get("actor")))
    else:
        follower = None
    if follower is None:
        raise Ignored(f"the {act.type} does not answer a Follow of ours")
    if not accepted and follow is not None and follow.state == "accepted":
        await follows.remote_unfollowed(ctx, follower, sender)  # Reject after Accept: they removed us
    else:
        await follows.remote_answered(ctx, follower, sender, accepted)


async def on_undo(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    obj = act.object
    target = None
    if isinstance(obj, dict) and type_of(obj) == "Block":
        return await _undo_block(ctx, obj, sender)
    if isinstance(obj, dict) and type_of(obj) == "Follow":
        if iri(obj.get("actor")) != sender.uri:
            raise Ignored("an Undo may only undo the sender's own Follow")
        target = await local_from(ctx, iri(obj.get("object")))
    elif isinstance(obj, str):
        follow = await _follow_by_uri(ctx, obj)
        if follow is None and await social.undo(ctx, act, sender):
            return
        target = follow.followee if follow is not None and follow.follower_id == sender.id else None
    elif await social.undo(ctx, act, sender):
        return
    else:
        raise Ignored(f"Undo of {type_of(obj) or 'that object'} is not handled")
    if target is None:
        raise Ignored("the Undo does not match a Follow of one of our accounts")
    await follows.remote_unfollowed(ctx, sender, target)


async def _update_actor(ctx: Context, obj: dict, sender: Account) -> None:
    if iri(obj.get("id")) != sender.uri:
        raise Ignored("an actor may only update itself")
    try:
        data = parse_actors.actor(obj, sender.key_id)
    except parse.ParseError:  # a partial document: read the actor's own copy instead
        await resolver.fetch_actor(ctx, sender.uri or "", refresh=True)
        return
    await remote.upsert_actor(ctx, data)


async def on_create(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    """Create/Update of an artwork (a Note with images), or Update of the sender's own actor."""
    obj = act.object
    if isinstance(obj, str):
        obj = await resolver.fetch_object(ctx, obj)  # only the IRI was sent: read the author's copy
    if not isinstance(obj, dict):
        raise Ignored(f"the {act.type} has no object")
    kind = type_of(obj)
    if act.type == "Update" and kind in parse_actors.ACTOR_TYPES:
        return await _update_actor(ctx, obj, sender)
    if await job_posts.receive(ctx, act, obj, sender, item):
        return None
    if await social.receive_note(ctx, act, obj, sender, item):  # replies to our works, mentions of our people
        return None
    if kind not in parse_artworks.ARTWORK_TYPES:
        raise Ignored(f"{kind or 'untyped'} objects are not stored")
    head = parse_artworks.artwork_head(obj)  # the full parse (text sanitising) only for a work that is stored
    if head.attributed_to != sender.uri:
        raise Ignored(f"the object is attributed to {head.attributed_to or 'nobody'}, not to the sender")
    if remote.domain_of(head.uri) != remote.domain_of(sender.uri or ""):
        raise Ignored("the object's id is on another host than its author")
    known = await inbox_prefetch.artwork_known(ctx, head.uri)  # read once per inbox batch
    if not known and not head.images:
        raise Ignored("no image attachments: only artworks are stored")
    if not known and not await followed_here(ctx, sender):
        raise Ignored("nobody here follows the author: works from strangers are not stored and their images "
                      "not fetched")
    await remote.upsert_artwork(ctx, sender, parse_artworks.artwork(obj, act))


async def on_delete(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    target = act.object_id
    if target == sender.uri:
        await remote.delete_actor(ctx, sender)
    elif target and await job_posts.delete(ctx, sender, target):
        return
    elif target and await social.delete(ctx, sender, target):
        return
    elif not target or not await remote.delete_artwork(ctx, sender, target):
        raise Ignored("the deleted object is not stored here")


async def on_block(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    target = await local_from(ctx, act.object_id)
    if target is None:
        raise Ignored("the Block is not about one of our accounts")
    await safety.receive_block(ctx, sender, target, act.id)  # ends follows both ways; refuses new ones


async def _undo_block(ctx: Context, obj: dict, sender: Account) -> None:
    if iri(obj.get("actor")) != sender.uri:
        raise Ignored("an Undo may only undo the sender's own Block")
    target = await local_from(ctx, iri(obj.get("object")))
    if target is None or not await safety.receive_unblock(ctx, sender, target):
        raise Ignored("the Undo does not match a Block of one of our accounts")


async def on_flag(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    """A report from another server (Mastodon's shape: object = [actor, objects…], content = reason)."""
    uris, reason = parse.flag(parse.normalize(item.payload))
    targets = [a for a in [await local_from(ctx, u) for u in uris] if a is not None]
    works = [w for w in [await local_artwork_from(ctx, u) for u in uris] if w is not None]
    target = targets[0] if targets else (works[0].account if works else None)
    if target is None:
        raise Ignored("the Flag names none of our accounts or works")
    works = [w for w in works if w.account_id == target.id]
    await reports.receive_flag(ctx, sender, target, works, reason, uris, act.id)


HANDLERS: dict[str, Handler] = {
    "Follow": on_follow, "Accept": on_answer, "Reject": on_answer, "Undo": on_undo, "Create": on_create,
    "Update": on_create, "Delete": on_delete, "Block": on_block, "Like": social.on_like, "Announce": social.on_like,
    "Flag": on_flag, "Move": moves.on_move,
}


async def _sender(ctx: Context, uri: str) -> Account:
    # The inbox stored the signer's account before accepting the activity: no fetch needed (a Delete of a
    # gone actor could not be fetched anyway).
    # (read once per inbox batch: inbox_prefetch)
    return await inbox_prefetch.sender_account(ctx, uri) or await resolver.fetch_actor(ctx, uri)


async def process_inbox(ctx: Context, inbox_item_id: int) -> None:
    """Job: act on one stored activity. Never raises: the outcome is recorded on the row."""
    item = await inbox_service.begin(ctx, inbox_item_id)
    if item is None:
        return
    try:
        act = parse.activity(parse.normalize(item.payload))
        # The inbox matched the signer to the raw `actor`; a sender's @context must not remap it to someone else.
        if act.actor != item.actor_uri:
            raise parse.ParseError("the activity's actor changes under JSON-LD compaction")
        handler = HANDLERS.get(act.type)
        if handler is None:
            raise Ignored(f"{act.type} activities are not used here")
        await handler(ctx, act, await _sender(ctx, act.actor), item)
    except Ignored as exc:
        await inbox_service.finish(ctx, item.id, "ignored", str(exc))
    except (PermissionDenied, NotFound, ValidationError) as exc:
        await inbox_service.finish(ctx, item.id, "ignored", f"refused: {exc}")
    except parse.ParseError as exc:
        await inbox_service.finish(ctx, item.id, "failed", exc.reason)
    except (resolver.ResolveError, FetchError) as exc:
        transient = exc.transient if isinstance(exc, resolver.ResolveError) else not exc.permanent
        if transient:
            await inbox_service.retry_later(ctx, item.id, f"{exc.code}: {exc.message}")
        else:
            await inbox_service.finish(ctx, item.id, "failed", f"{exc.code}: {exc.message}")
    except Exception as exc:  # a bug or an outage: keep the row and try again later (bounded by attempts)
        log.exception("inbox item %s (%s) failed", item.id, item.activity_type)
        await inbox_service.retry_later(ctx, item.id, f"{type(exc).__name__}: {exc}")
    else:
        await inbox_service.finish(ctx, item.id, "processed")


async def sweep_inbox(ctx: Context) -> int:
    """Periodic: re-queue received/retry items untouched for a minute (dead workers, transient failures)."""
    ids = await inbox_service.claim_overdue(ctx)
    for item_id in ids:
        await ctx.jobs.enqueue(tasks.PROCESS_INBOX, item_id)
    return len(ids)
