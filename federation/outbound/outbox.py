"""Outbound events -> activities and their recipients (the jobs the core names in federation/subscriptions.py).

Each job reads what it needs, builds the activity with federation/wire/serialize*.py, and hands it with its
inboxes to cara_fed.services.deliveries.record_outgoing, which stores it once and queues the deliveries.
Every activity id is deterministic for its event, so a job that runs twice records nothing the second
time: Create -> `{note}#create`; Follow -> Follow.uri; the others -> `/activities/{uuid5(event)}`, the
contract's id shape, derived from what makes the event distinct.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlalchemy import func, select

from cara_fed import queries_federation, urls
from cara_fed.context import Context
from cara_fed.models import Account, Artwork, Delivery, Follow, OutgoingActivity
from cara_fed.numbers import parse_id
from cara_fed.services import deliveries
from federation.outbound.proof_sign import with_proofs
from federation.wire import serialize as s
from federation.wire import serialize_actors, serialize_artworks
from federation.wire.serialize import actor_id


def event_id(ctx: Context, event: str) -> str:
    return ctx.url(urls.activity(uuid.uuid5(uuid.NAMESPACE_URL, ctx.url("/") + event).hex))


async def follower_inboxes(session, account_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Inboxes of the accepted remote followers, one per shared inbox (else the personal one)."""
    # DISTINCT in SQL: 10,000 followers on 500 servers are 500 rows, not 10,000.
    inbox = func.coalesce(func.nullif(Account.shared_inbox_url, ""), Account.inbox_url)
    urls = await session.scalars(
        select(inbox).distinct().join(Follow, Follow.follower_id == Account.id)
        .where(Follow.followee_id == account_id, Follow.state == "accepted", Account.domain.is_not(None),
               Account.status != "suspended"))
    return sorted(url for url in urls if url)


async def _record(ctx: Context, actor: Account, activity: dict, inboxes: list[str], *, artwork_id: int | None = None,
                  since: datetime | None = None) -> OutgoingActivity | None:
    # FEP-8b32: Create/Update (and the object they embed) carry the actor's eddsa-jcs-2022 proof.
    activity = with_proofs(activity, actor_id(ctx, actor), actor.ed25519_private_key_pem)
    async with ctx.transaction(changes_pages=False) as tx:
        return await deliveries.record_outgoing(ctx, tx, actor, activity, inboxes=inboxes, artwork_id=artwork_id,
                                                since=since)


async def _published_work(ctx: Context, artwork_id: int | str) -> tuple[Artwork, list[str], int | None] | None:
    async with ctx.sessions() as session:
        artwork = await session.get(Artwork, int(artwork_id))
        if (artwork is None or artwork.state != "published" or not artwork.account.is_local
                or artwork.account.status != "active"):
            return None
        inboxes = await follower_inboxes(session, artwork.account_id)
        inboxes = list(dict.fromkeys([*inboxes, *await mentioned_inboxes(session, artwork)]))
        project = (await queries_federation.first_projects(session, [artwork.id])).get(artwork.id)
    return artwork, inboxes, project


async def mentioned_inboxes(session, artwork: Artwork) -> list[str]:  # type: ignore[no-untyped-def]
    """Inboxes of the remote people a public or unlisted work mentions (the Note cc's them, serialize.py)."""
    hrefs = [m.get("href") for m in artwork.mentions or [] if isinstance(m, dict) and m.get("href")]
    if artwork.visibility == "followers" or not hrefs:
        return []
    people = (await session.scalars(select(Account).where(Account.uri.in_(hrefs), Account.domain.is_not(None),
                                                          Account.status != "suspended"))).unique().all()
    return [url for a in people if (url := a.shared_inbox_url or a.inbox_url)]


# --- artworks ------------------------------------------------------------------------------------


async def artwork_published(ctx: Context, artwork_id: int | str) -> None:
    """Create(Note) to the author's followers (every visibility) and, for public and unlisted works, to the
    people it mentions."""
    found = await _published_work(ctx, artwork_id)
    if found is None or not found[1]:
        return
    artwork, inboxes, project = found
    note = serialize_artworks.note_for_artwork(ctx, artwork, project=project)
    await _record(ctx, artwork.account, s.create_for_note(ctx, artwork, note), inboxes, artwork_id=artwork.id)


async def artwork_updated(ctx: Context, artwork_id: int | str) -> None:
    """Update(Note). The id covers the edit time and the Note's content, so each real edit is sent once."""
    found = await _published_work(ctx, artwork_id)
    if found is None or not found[1]:
        return
    artwork, inboxes, project = found
    note = serialize_artworks.note_for_artwork(ctx, artwork, project=project)
    digest = hashlib.sha256(json.dumps(note, sort_keys=True).encode()).hexdigest()[:16]
    id_ = event_id(ctx, f"update:{note['id']}:{artwork.updated_at.isoformat()}:{digest}")
    await _record(ctx, artwork.account, s.activity(ctx, "Update", artwork.account, note, id_=id_), inboxes,
                  artwork_id=artwork.id)


async def delete_audience(ctx: Context, account_id: int | str,
                          object_uri: str) -> tuple[Account, list[str], OutgoingActivity | None] | None:
    """Who a Delete of `object_uri` goes to: the current followers and every inbox its Create went to (that
    Create is returned too, to address the Delete as it was). None when the account is gone or not ours."""
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        if account is None or not account.is_local:
            return None
        inboxes = await follower_inboxes(session, account.id)
        create = await session.scalar(select(OutgoingActivity).where(OutgoingActivity.uri == object_uri + "#create"))
        if create is not None:
            inboxes += list(await session.scalars(select(Delivery.inbox_url).where(Delivery.activity_id == create.id)))
    return account, inboxes, create


async def artwork_deleted(ctx: Context, account_id: int | str, artwork_uri: str) -> None:
    """Delete(Tombstone) to the current followers and to every inbox the Create went to, addressed as it was."""
    audience = await delete_audience(ctx, account_id, artwork_uri)
    if audience is None:
        return
    account, inboxes, create = audience
    sent = json.loads(create.body) if create is not None else {}
    to, cc = sent.get("to") or [s.followers_id(ctx, account)], sent.get("cc") or []
    tail = artwork_uri.rstrip("/").rsplit("/", 1)[-1]
    work_id = create.artwork_id if create is not None else parse_id(tail)
    tombstone = s.tombstone(artwork_uri, "Note")
    delete = s.activity(ctx, "Delete", account, tombstone, to=to, cc=cc, id_=event_id(ctx, f"delete:{artwork_uri}"))
    await _record(ctx, account, delete, inboxes, artwork_id=work_id)


async def account_updated(ctx: Context, account_id: int | str) -> None:
    """Update(actor) to the followers, so they refresh name, avatar, links and key."""
    async with ctx.sessions() as session:
        account = await session.get(Account, int(account_id))
        if account is None or not account.is_local or account.status != "active":
            return
        inboxes = await follower_inboxes(session, account.id)
    document = serialize_actors.actor_document(ctx, account)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]
    id_ = event_id(ctx, f"update-actor:{account.id}:{account.updated_at.isoformat()}:{digest}")
    await _record(ctx, account, s.activity(ctx, "Update", account, document, to=[s.PUBLIC],
                                           cc=[s.followers_id(ctx, account)], id_=id_), inboxes)


# --- follows -------------------------------------------------------------------------------------


async def _follow(ctx: Context, follow_id: int | str, state: str) -> Follow | None:
    async with ctx.sessions() as session:
        follow = await session.get(Follow, int(follow_id))
    return follow if follow is not None and follow.state == state and follow.uri else None


def _follow_object(ctx: Context, follow: Follow) -> dict:
    """The Follow as first sent, with its original id: peers match Accept/Reject/Undo by that id."""
    return {"id": follow.uri, "type": "Follow", "actor": s.actor_id(ctx, follow.follower),
            "object": s.actor_id(ctx, follow.followee)}


def _inbox(account: Account) -> list[str]:
    return [account.inbox_url or account.shared_inbox_url or ""]


async def send_follow(ctx: Context, follow_id: int | str) -> None:
    """Follow (id = Follow.uri) to the remote followee's inbox."""
    follow = await _follow(ctx, follow_id, "requested")
    if follow is None or not follow.follower.is_local or follow.followee.is_local:
        return
    activity = s.activity(ctx, "Follow", follow.follower, s.actor_id(ctx, follow.followee),
                          to=[s.actor_id(ctx, follow.followee)], id_=follow.uri)
    # `since`: a Follow row may get the id of an older, deleted one (SQLite reuses the highest rowid).
    await _record(ctx, follow.follower, activity, _inbox(follow.followee), since=follow.created_at)


async def _answer(ctx: Context, follow_id: int | str, state: str, type_: str) -> None:
    follow = await _follow(ctx, follow_id, state)
    if follow is None or follow.follower.is_local or not follow.followee.is_local:
        return
    follower = s.actor_id(ctx, follow.follower)
    # Keyed by the Follow's id: if the follower sends a new Follow (new id), it gets a new answer.
    answer = s.activity(ctx, type_, follow.followee, _follow_object(ctx, follow), to=[follower],
                        id_=event_id(ctx, f"{type_.lower()}:{follow.id}:{follow.uri}"))
    await _record(ctx, follow.followee, answer, _inbox(follow.follower))


async def send_accept(ctx: Context, follow_id: int | str) -> None:
    """Accept{the Follow, with its original id} to the follower's inbox."""
    await _answer(ctx, follow_id, "accepted", "Accept")


async def send_reject(ctx: Context, follow_id: int | str) -> None:
    await _answer(ctx, follow_id, "rejected", "Reject")


async def send_undo_follow(ctx: Context, follow_id: int | str) -> None:
    """Undo(Follow) to the followee, after a local account unfollowed a remote one."""
    follow = await _follow(ctx, follow_id, "cancelled")
    if follow is None or not follow.follower.is_local or follow.followee.is_local:
        return
    followee = s.actor_id(ctx, follow.followee)
    undo = s.activity(ctx, "Undo", follow.follower, _follow_object(ctx, follow), to=[followee],
                      id_=event_id(ctx, f"undo:{follow.uri}:{follow.created_at.isoformat()}"))
    await _record(ctx, follow.follower, undo, _inbox(follow.followee))
