"""What the activities of one inbox batch need from the database, read once for the batch instead of once
per activity: the senders' stored accounts, which objects are already stored as artworks, and which senders
someone here follows.

Each fact is read in bulk the first time any activity of the batch asks for it (one query for every sender,
object or followee of the batch). Facts never outlive a write: any commit on the engine (a handler storing a
follow, an actor update, an artwork, in this process) empties them, and the next activity that needs one
reads it again for the whole batch (a query per write at most, never one per activity). A commit that wrote
only inbox rows (the inbox storing new activities, a batch's claim or outcomes: `inbox_batch.INBOX_ROWS_ONLY`)
changes no fact and keeps them: with the embedded worker the inbox commits many times during one batch.
Outside a batch every lookup is a plain single query.

    async with batch_facts(ctx, rows):      # the claimed rows (cara_fed.services.inbox.Received)
        await sender_account(ctx, uri)      # anywhere in the handlers
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select

from cara_fed.context import Context, ResourceKey
from cara_fed.models import Account, Artwork, Follow
from cara_fed.services.inbox import Received
from cara_fed.services.inbox_batch import writes_inbox_rows_only
from federation.wire.parse_values import iri

EPOCH = ResourceKey["_Epoch"]("inbox.prefetch_epoch")


class _Epoch:
    """Counts commits on the engine (every session and transaction of this process goes through it)."""

    def __init__(self, ctx: Context):
        self.value = 0
        event.listen(ctx.engine.sync_engine, "commit", self._bump)

    def _bump(self, connection: Any) -> None:
        if not writes_inbox_rows_only(connection):  # the inbox storing rows changes no fact read here
            self.value += 1


def _epoch(ctx: Context) -> _Epoch:
    return ctx.resources.provide(EPOCH, lambda: _Epoch(ctx))


@dataclass
class _Facts:
    actors: list[str]  # the senders of the batch
    objects: list[str]  # the object IRIs its activities name
    epoch: int = -1  # commits seen when the facts below were read
    senders: dict[str, Account | None] | None = None
    known_artworks: set[str] | None = None
    followed: dict[int, bool] = field(default_factory=dict)
    followed_loaded: bool = False


_FACTS: ContextVar[_Facts | None] = ContextVar("inbox_prefetch", default=None)


def _object_iris(payload: dict) -> Iterable[str]:
    obj = payload.get("object")
    found = iri(obj.get("id")) if isinstance(obj, dict) else iri(obj)
    return (found,) if found else ()


@asynccontextmanager
async def batch_facts(ctx: Context, rows: Iterable[Received]) -> AsyncIterator[None]:
    rows = list(rows)
    facts = _Facts(actors=sorted({row.actor_uri for row in rows}),
                   objects=sorted({uri for row in rows if isinstance(row.payload, dict)
                                   for uri in _object_iris(row.payload)}))
    token = _FACTS.set(facts)
    try:
        yield
    finally:
        _FACTS.reset(token)


def _current(ctx: Context) -> _Facts | None:
    """The batch's facts, emptied if anything was committed since they were read."""
    facts = _FACTS.get()
    if facts is None:
        return None
    epoch = _epoch(ctx).value
    if facts.epoch != epoch:
        facts.epoch, facts.senders, facts.known_artworks = epoch, None, None
        facts.followed, facts.followed_loaded = {}, False
    return facts


async def _accounts_by_uri(ctx: Context, uris: list[str]) -> dict[str, Account]:
    async with ctx.sessions() as session:
        found = (await session.scalars(select(Account).where(Account.uri.in_(uris),
                                                             Account.domain.is_not(None)))).all()
    return {account.uri: account for account in found if account.uri}


async def sender_account(ctx: Context, uri: str) -> Account | None:
    """The stored copy of a remote actor (resolver.cached_actor), read for the whole batch at once."""
    facts = _current(ctx)
    if facts is None:
        return (await _accounts_by_uri(ctx, [uri])).get(uri)
    if facts.senders is None:
        facts.senders = dict.fromkeys(facts.actors)
        facts.senders.update(await _accounts_by_uri(ctx, facts.actors) if facts.actors else {})
    if uri not in facts.senders:
        facts.senders[uri] = (await _accounts_by_uri(ctx, [uri])).get(uri)
    return facts.senders[uri]


async def _stored_artworks(ctx: Context, uris: list[str]) -> set[str]:
    async with ctx.sessions() as session:
        return set((await session.scalars(select(Artwork.uri).where(Artwork.uri.in_(uris)))).all())


async def artwork_known(ctx: Context, uri: str) -> bool:
    """Is an artwork with this IRI stored? Read for every object the batch names at once."""
    facts = _current(ctx)
    if facts is None:
        return bool(await _stored_artworks(ctx, [uri]))
    if facts.known_artworks is None:
        facts.known_artworks = await _stored_artworks(ctx, facts.objects) if facts.objects else set()
    if uri in facts.known_artworks:
        return True
    if uri in facts.objects:
        return False
    return bool(await _stored_artworks(ctx, [uri]))  # an IRI the raw payloads did not name (compaction)


async def _followed(ctx: Context, account_ids: list[int]) -> set[int]:
    async with ctx.sessions() as session:
        return set((await session.scalars(select(Follow.followee_id).where(
            Follow.followee_id.in_(account_ids), Follow.state == "accepted").distinct())).all())


async def followed_here(ctx: Context, account: Account) -> bool:
    """Does anyone here follow `account` (an accepted follow)? Read for every sender of the batch at once."""
    facts = _current(ctx)
    if facts is None:
        return bool(await _followed(ctx, [account.id]))
    if not facts.followed_loaded and facts.senders is not None:
        ids = [sender.id for sender in facts.senders.values() if sender is not None]
        followed = await _followed(ctx, ids) if ids else set()
        facts.followed.update({account_id: account_id in followed for account_id in ids})
        facts.followed_loaded = True
    if account.id not in facts.followed:
        facts.followed[account.id] = bool(await _followed(ctx, [account.id]))
    return facts.followed[account.id]
