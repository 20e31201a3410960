"""Inbound social activities: Like, Announce, their Undo, replies (Create/Update of a Note inReplyTo one of
our works or comments), Delete of a reply, and mentions of our accounts in other posts.

The checks mirror on_create's: the object must be attributed to the signer and live on the signer's host;
a Like or Announce of something we do not store is ignored with the reason kept on the inbox row.
"""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, Boost, Comment, Like
from cara_fed.services import comments, interactions, notifications, remote
from cara_fed.services.inbox import Received
from federation.discovery.local import local_artwork_from, local_from
from federation.discovery.resolver import is_local
from federation.inbound.outcome import Ignored
from federation.wire import parse_artworks, parse_threads
from federation.wire.parse import Activity
from federation.wire.parse_values import iri, type_of

UNDOABLE = {"Like": "like", "Announce": "boost"}


async def artwork_from(ctx: Context, uri: str | None) -> Artwork | None:
    """The published artwork behind an object IRI: ours (`/@name/{id}`) or a remote one we store."""
    if not uri:
        return None
    if is_local(ctx, uri):
        artwork = await local_artwork_from(ctx, uri)
    else:
        async with ctx.sessions() as session:
            artwork = await session.scalar(select(Artwork).where(Artwork.uri == uri))
    return artwork if artwork is not None and artwork.state == "published" else None


async def _comment_from(ctx: Context, uri: str | None) -> Comment | None:
    if not uri:
        return None
    async with ctx.sessions() as session:
        return await session.scalar(select(Comment).where(Comment.uri == uri))


# --- Like / Announce and their Undo --------------------------------------------------------------


async def on_like(ctx: Context, act: Activity, sender: Account, item: Received) -> None:
    kind = "like" if act.type == "Like" else "boost"
    artwork = await artwork_from(ctx, act.object_id)
    if artwork is None:
        raise Ignored(f"the {act.type} is about {act.object_id or 'nothing'}, which is not an artwork stored here")
    if not await interactions.receive(ctx, kind, sender, artwork, act.id):
        raise Ignored(f"duplicate {act.type}: {sender.uri} already did this for that artwork")


async def undo(ctx: Context, act: Activity, sender: Account) -> bool:
    """Undo(Like|Announce), embedded or by id. False when the Undo is about something else."""
    obj = act.object
    if isinstance(obj, dict) and type_of(obj) in UNDOABLE:
        if iri(obj.get("actor")) not in (None, sender.uri):
            raise Ignored("an Undo may only undo the sender's own activity")
        artwork = await artwork_from(ctx, iri(obj.get("object")))
        done = await interactions.receive_undo(ctx, UNDOABLE[type_of(obj)], sender, uri=iri(obj),
                                               artwork_id=artwork.id if artwork else None)
        if not done:
            raise Ignored(f"the Undo matches no {type_of(obj)} stored here")
        return True
    if isinstance(obj, str):
        async with ctx.sessions() as session:
            like = await session.scalar(select(Like.id).where(Like.uri == obj, Like.account_id == sender.id))
            boost = await session.scalar(select(Boost.id).where(Boost.uri == obj, Boost.account_id == sender.id))
        if like or boost:
            return await interactions.receive_undo(ctx, "like" if like else "boost", sender, uri=obj)
    return False


# --- replies and mentions ------------------------------------------------------------------------


async def _local_accounts(ctx: Context, uris: list[str]) -> list[Account]:
    found = []
    for uri in dict.fromkeys(uris[:20]):
        account = await local_from(ctx, uri)
        if account is not None and account.kind != "application":
            found.append(account)
    return found


async def receive_note(ctx: Context, act: Activity, obj: dict, sender: Account, item: Received) -> bool:
    """A Note that replies to one of our works or comments (stored as a comment), or that mentions our
    accounts (they are notified). True when the Note is fully handled here."""
    if type_of(obj) != "Note":
        return False
    target_iri = iri(obj.get("inReplyTo"))
    parent = await _comment_from(ctx, target_iri)
    artwork = await artwork_from(ctx, target_iri) if parent is None else None
    if parent is not None:
        async with ctx.sessions() as session:
            artwork = await session.get(Artwork, parent.artwork_id)
    if artwork is None and not any(isinstance(t, dict) and type_of(t) == "Mention" for t in obj.get("tag") or []):
        return False  # neither a reply to us nor mentioning anyone: the artwork path decides
    data = parse_threads.reply(obj)
    if data.attributed_to != sender.uri or remote.domain_of(data.uri) != remote.domain_of(sender.uri or ""):
        if artwork is None:
            return False  # on_create refuses it with its own reason
        raise Ignored(f"the reply is attributed to {data.attributed_to or 'nobody'} on the host of {data.uri}, "
                       f"not to the sender {sender.uri}")
    mentioned = await _local_accounts(ctx, data.mentions)
    if artwork is not None:
        stored = await comments.receive(ctx, sender, artwork, parent, data, mentioned)
        if stored is not None and stored.state == "rejected":
            raise Ignored(f"reply kept but not shown: {stored.reason}")
        return True
    if mentioned and act.type == "Create":
        await notifications.mentioned_elsewhere(ctx, sender, mentioned, data.url or data.uri)
    return bool(mentioned) and not parse_artworks.images(obj.get("attachment"))


async def delete(ctx: Context, sender: Account, uri: str) -> bool:
    return await comments.remote_deleted(ctx, sender, uri)
