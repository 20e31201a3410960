"""One request id from the upload to every delivery: each POST to a follower's inbox carries the id of the
request that published (X-Request-Id, retries included) and each outcome is logged under it."""

from __future__ import annotations

import logging
from datetime import timedelta

from multidict import CIMultiDict
from sqlalchemy import select, update

from cara_fed.context import CONTEXT_KEY
from cara_fed.db import utcnow
from cara_fed.models import Account, Delivery
from cara_fed.services import deliveries, follows
from tests import images
from tests.conftest import sign_up
from tests.federation.sink import activities, remote_actor, trust_local
from tests.web.test_artworks import upload


def sent_id(received) -> str | None:  # type: ignore[no-untyped-def]
    return CIMultiDict(received.headers).get("X-Request-Id")  # aiohttp spells it X-Request-ID on the wire


async def test_deliveries_carry_and_log_the_id_of_the_request_that_published(client, sink, caplog):
    ctx = client.app[CONTEXT_KEY]
    ctx.config.federation.allow_private_addresses = True  # the sink's two instances are on loopback
    assert (await sign_up(client, "ada")).status == 303
    async with ctx.sessions() as session:
        ada = await session.scalar(select(Account).where(Account.username == "ada", Account.domain.is_(None)))
    trust_local(sink, ctx, ada)
    for index in (0, 1):
        fan = await remote_actor(ctx, sink, index, f"fan{index}")
        await follows.receive_follow(ctx, fan, ada, f"{fan.uri}/follows/1")
    assert {sent_id(r) for r in activities(sink, "Accept")} == {None}  # no request behind it
    sink.reset()
    sink.answer(1, 503)  # the second instance fails once: the retry must carry the same id

    caplog.set_level(logging.INFO, logger="federation.outbound.delivery")
    published = await upload(client, [("heron.jpg", images.jpeg(640, 480), "a heron")], title="Heron")
    assert published.status == 303
    request_id = published.headers["X-Request-Id"]
    creates = activities(sink, "Create")
    assert sorted(r.port for r in creates) == sorted(sink.ports)
    assert all(r.verified for r in creates)  # the extra header does not disturb the signature
    assert [sent_id(r) for r in creates] == [request_id, request_id]

    async with ctx.transaction() as tx:  # the back-off runs out; the sweep runs outside any request
        await tx.session.execute(update(Delivery).where(Delivery.state == "retry")
                                 .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    assert await deliveries.sweep(ctx) == (1, 0)
    retried = activities(sink, "Create")[2:]
    assert [(r.port, r.status, sent_id(r)) for r in retried] == [(sink.ports[1], 202, request_id)]

    # Each outcome is logged under that id: "delivery N to URL (attempt A): STATE ...".
    outcomes = sorted((r.args[2], r.args[3]) for r in caplog.records
                      if r.name == "federation.outbound.delivery" and r.request_id == request_id)
    assert outcomes == [(1, "retry"), (1, "sent"), (2, "sent")]
