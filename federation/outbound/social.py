"""Outgoing Like, Announce, Create(Note inReplyTo) and their Undo/Delete, for the jobs the core names in
cara_fed/services/interactions.py and cara_fed/services/comments.py.

Recipients follow Mastodon: a Like goes to the author of the work only; an Announce and a comment go to our
actor's followers plus the people involved (the work's author, the parent comment's author, the mentioned).
Activity ids are the rows' own URIs (or derived from them), so a repeated job records nothing new.
"""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Artwork, Boost, Comment, Like
from federation.outbound.outbox import _inbox, _record, event_id, follower_inboxes
from federation.wire import serialize as s
from federation.wire import serialize_threads as st


def _remote_inboxes(*accounts: Account | None) -> list[str]:
    return [inbox for a in accounts if a is not None and not a.is_local for inbox in _inbox(a)]


async def _load(ctx: Context, model: type[Like] | type[Boost], row_id: int | str):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        row = await session.get(model, int(row_id))
        artwork = await session.get(Artwork, row.artwork_id) if row is not None else None
        inboxes = await follower_inboxes(session, row.account_id) if row is not None and model is Boost else []
    if row is None or artwork is None or not row.account.is_local or not row.uri:
        return None
    return row, artwork, inboxes


async def send_like(ctx: Context, like_id: int | str) -> None:
    found = await _load(ctx, Like, like_id)
    if found is None:
        return
    like, artwork, _ = found
    await _record(ctx, like.account, s.interaction(ctx, "Like", like, like.account, artwork),
                  _remote_inboxes(artwork.account))


async def send_announce(ctx: Context, boost_id: int | str) -> None:
    found = await _load(ctx, Boost, boost_id)
    if found is None:
        return
    boost, artwork, followers = found
    await _record(ctx, boost.account, s.interaction(ctx, "Announce", boost, boost.account, artwork),
                  followers + _remote_inboxes(artwork.account))


async def _undo(ctx: Context, type_: str, account_id: int | str, artwork_id: int | str, uri: str) -> None:
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        artwork = await session.get(Artwork, int(artwork_id))
        followers = await follower_inboxes(session, int(account_id)) if type_ == "Announce" else []
    if account is None or artwork is None or not account.is_local:
        return
    note, author = s.artwork_id(ctx, artwork), s.actor_id(ctx, artwork.account)
    original = {"id": uri, "type": type_, "actor": s.actor_id(ctx, account), "object": note}
    to, cc = ([author], []) if type_ == "Like" else ([s.PUBLIC], [author, s.followers_id(ctx, account)])
    undo = s.activity(ctx, "Undo", account, original, to=to, cc=cc, id_=uri + "#undo")
    await _record(ctx, account, undo, followers + _remote_inboxes(artwork.account))


async def send_undo_like(ctx: Context, account_id: int | str, artwork_id: int | str, uri: str) -> None:
    await _undo(ctx, "Like", account_id, artwork_id, uri)


async def send_undo_announce(ctx: Context, account_id: int | str, artwork_id: int | str, uri: str) -> None:
    await _undo(ctx, "Announce", account_id, artwork_id, uri)


# --- comments ------------------------------------------------------------------------------------


async def send_comment(ctx: Context, comment_id: int | str) -> None:
    """Create(Note inReplyTo the work or the parent comment), addressed publicly like a Mastodon reply."""
    async with ctx.sessions() as session:
        comment = await session.get(Comment, int(comment_id))
        if comment is None or comment.state != "visible" or not comment.account.is_local or not comment.uri:
            return
        artwork = await session.get(Artwork, comment.artwork_id)
        parent = await session.get(Comment, comment.parent_id) if comment.parent_id else None
        mentioned = list((await session.scalars(select(Account).where(
            Account.uri.in_(comment.mentions or [""])))).unique().all())
        inboxes = await follower_inboxes(session, comment.account_id)
    if artwork is None:
        return
    note = st.comment_note(ctx, comment, artwork, parent, mentioned)
    create = s.activity(ctx, "Create", comment.account, note, id_=comment.uri + "#create")
    involved = [artwork.account, parent.account if parent else None, *mentioned]
    await _record(ctx, comment.account, create, inboxes + _remote_inboxes(*involved))


async def send_comment_deleted(ctx: Context, account_id: int | str, artwork_id: int | str, uri: str) -> None:
    """Delete(Tombstone) of a removed local comment to the followers and the work's remote author."""
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        artwork = await session.get(Artwork, int(artwork_id))
        inboxes = await follower_inboxes(session, int(account_id))
    if account is None or not account.is_local:
        return
    delete = s.activity(ctx, "Delete", account, s.tombstone(uri, "Note"), to=[s.PUBLIC],
                        cc=[s.followers_id(ctx, account)], id_=event_id(ctx, f"delete:{uri}"))
    await _record(ctx, account, delete, inboxes + _remote_inboxes(artwork.account if artwork else None))
