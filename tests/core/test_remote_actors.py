"""Remote actor copies: concurrent first sightings of one actor (several web processes) store one row."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from cara_fed.context import Context
from cara_fed.models import Account
from cara_fed.services.remote import RemoteActor, upsert_actor


def actor(name: str, display: str) -> RemoteActor:
    uri = f"https://peer.example/users/{name}"
    return RemoteActor(uri=uri, username=name, domain="peer.example", inbox=uri + "/inbox",
                       public_key_pem="-----BEGIN PUBLIC KEY-----\n...", key_id=uri + "#main-key",
                       display_name=display)


async def test_two_processes_storing_the_same_new_actor_keep_one_row(ctx, config):  # type: ignore[no-untyped-def]
    other = Context.create(config)  # a second web process: its own engine and connections
    try:
        for round_ in range(5):
            name = f"painter{round_}"
            first, second = await asyncio.gather(upsert_actor(ctx, actor(name, "first")),
                                                 upsert_actor(other, actor(name, "second")))
            assert first.uri == second.uri
            async with ctx.sessions() as session:
                rows = await session.scalar(select(func.count()).select_from(Account).where(Account.uri == first.uri))
                stored = await session.scalar(select(Account.display_name).where(Account.uri == first.uri))
            assert rows == 1
            assert stored in ("first", "second")
    finally:
        await other.close()
