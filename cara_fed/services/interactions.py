"""Likes, boosts (Announce) and bookmarks on artworks, local and federated.

One row per account and artwork (a unique pair), so a repeated click or a duplicated Like/Announce from
another server is a no-op. Local likers and boosters of remote works are told to the federation edge by
the events emitted here (ArtworkLiked, LikeUndone, ArtworkBoosted, BoostUndone); bookmarks stay private.
"""

from __future__ import annotations

import secrets
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from cara_fed import queries, urls
from cara_fed.context import Context
from cara_fed.errors import NotFound, PermissionDenied
from cara_fed.events import ArtworkBoosted, ArtworkLiked, BoostUndone, LikeUndone, emit
from cara_fed.models import Account, Artwork, Bookmark, Boost, Like, Notification
from cara_fed.queries_safety import blocked_either_way
from cara_fed.services.notifications import notify

Kind = Literal["like", "boost"]
MODELS: dict[str, type[Like] | type[Boost]] = {"like": Like, "boost": Boost}


async def visible_artwork(ctx: Context, viewer: Account, artwork_id: int) -> Artwork:
    async with ctx.sessions() as session:
        artwork = await session.get(Artwork, artwork_id)
        if (artwork is None or artwork.state != "published"
                or not await queries.can_view_async(session, artwork, viewer)):
            raise NotFound("This artwork does not exist or is not visible to you.")
    return artwork


async def add(ctx: Context, kind: Kind, account: Account, artwork_id: int) -> bool:
    """A local account likes or boosts an artwork. Returns False when it already had."""
    artwork = await visible_artwork(ctx, account, artwork_id)
    if kind == "boost" and artwork.visibility == "followers":
        raise PermissionDenied("Followers-only works cannot be boosted.")
    model = MODELS[kind]
    try:
        async with ctx.transaction() as tx:
            tx.touches(artwork.account_id)  # its artwork page's counts (cards show none: no listing changes)
            if await tx.session.scalar(select(model.id).where(model.account_id == account.id,
                                                              model.artwork_id == artwork.id)):
                return False
            row = model(account_id=account.id, artwork_id=artwork.id)
            tx.session.add(row)
            await tx.session.flush()
            # SQLite may reuse a deleted row's id; the random part keeps every activity id unique.
            row.uri = ctx.url(urls.interaction(account.username, kind, f"{row.id}-{secrets.token_hex(4)}"))
            if account.id != artwork.account_id:
                notify(tx, artwork.account, kind, actor=account, object_type="artwork", object_id=artwork.id)
            # Likes of remote works go to their author; boosts go to our followers (and the remote author).
            if kind == "boost" or not artwork.account.is_local:
                emit(ctx, tx, ArtworkLiked(row.id) if kind == "like" else ArtworkBoosted(row.id))
    except IntegrityError:  # a double click raced us: the pair exists, which is what was asked
        return False
    return True


async def remove(ctx: Context, kind: Kind, account: Account, artwork_id: int) -> bool:
    """Unlike / unboost. The activity id travels with the event, since the row is gone."""
    model = MODELS[kind]
    async with ctx.transaction() as tx:
        row = await tx.session.scalar(select(model).where(model.account_id == account.id,
                                                          model.artwork_id == artwork_id))
        if row is None:
            tx.touches()  # nothing changed
            return False
        artwork = await tx.session.get(Artwork, artwork_id)
        tx.touches(artwork.account_id if artwork is not None else None)
        await tx.session.delete(row)
        await _forget_notification(tx.session, kind, account.id, artwork_id)
        if row.uri and artwork is not None and (kind == "boost" or not artwork.account.is_local):
            emit(ctx, tx, (LikeUndone if kind == "like" else BoostUndone)(account.id, artwork_id, row.uri))
    return True


async def _forget_notification(session, kind: str, actor_id: int, artwork_id: int) -> None:  # type: ignore[no-untyped-def]
    """An undone like or boost takes its unread notification with it (read ones stay as history)."""
    await session.execute(delete(Notification).where(
        Notification.kind == kind, Notification.actor_id == actor_id, Notification.object_type == "artwork",
        Notification.object_id == artwork_id, Notification.read_at.is_(None)))


async def receive(ctx: Context, kind: Kind, sender: Account, artwork: Artwork, uri: str) -> bool:
    """Inbound Like or Announce of an artwork we store. A duplicate (same actor and work, or same id) is a
    no-op and returns False."""
    model = MODELS[kind]
    async with ctx.sessions() as session:
        if await blocked_either_way(session, sender.id, artwork.account_id):
            return False  # not counted, not notified
        await _require_visible_to_remote(session, artwork, sender)
    if kind == "boost" and artwork.visibility == "followers":
        raise PermissionDenied("followers-only works cannot be boosted")
    try:
        async with ctx.transaction() as tx:
            tx.touches(artwork.account_id)  # its artwork page's counts (cards show none: no listing changes)
            existing = await tx.session.scalar(select(model.id).where(
                (model.uri == uri) | ((model.account_id == sender.id) & (model.artwork_id == artwork.id))))
            if existing is not None:
                return False
            tx.session.add(model(account_id=sender.id, artwork_id=artwork.id, uri=uri))
            notify(tx, artwork.account, kind, actor=sender, object_type="artwork", object_id=artwork.id)
    except IntegrityError:  # the same activity processed twice at once
        return False
    return True


async def _require_visible_to_remote(session, artwork: Artwork, sender: Account) -> None:  # type: ignore[no-untyped-def]
    """A remote account may act only on our works it may see: followers-only ones need an accepted follow.
    (Remote works: their origin decides who sees them, and their interactions go there, not to us.)"""
    if artwork.account.is_local and not await queries.can_view_async(session, artwork, sender):
        raise PermissionDenied("the work is not visible to this account (followers-only)")


async def receive_undo(ctx: Context, kind: Kind, sender: Account, *, uri: str | None = None,
                       artwork_id: int | None = None) -> bool:
    """Inbound Undo(Like|Announce), matched by the activity id or by the sender and the work."""
    model = MODELS[kind]
    async with ctx.transaction() as tx:
        match = model.uri == uri if uri else model.artwork_id == artwork_id
        row = await tx.session.scalar(select(model).where(model.account_id == sender.id, match))
        if row is None and uri and artwork_id is not None:
            row = await tx.session.scalar(select(model).where(model.account_id == sender.id,
                                                              model.artwork_id == artwork_id))
        if row is None:
            tx.touches()  # nothing changed
            return False
        tx.touches(await tx.session.scalar(select(Artwork.account_id).where(Artwork.id == row.artwork_id)))
        await tx.session.delete(row)
        await _forget_notification(tx.session, kind, sender.id, row.artwork_id)
    return True


async def bookmark(ctx: Context, account: Account, artwork_id: int, saved: bool) -> None:
    """Save or unsave a work (private; idempotent both ways)."""
    if saved:
        artwork = await visible_artwork(ctx, account, artwork_id)
    async with ctx.transaction(changes_pages=False) as tx:
        existing = await tx.session.scalar(select(Bookmark).where(Bookmark.account_id == account.id,
                                                                  Bookmark.artwork_id == artwork_id))
        if saved and existing is None:
            tx.session.add(Bookmark(account_id=account.id, artwork_id=artwork.id))
        elif not saved and existing is not None:
            await tx.session.delete(existing)
