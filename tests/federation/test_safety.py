"""Blocks and reports over federation with a peer on loopback: inbound Block / Undo(Block) / Flag and Follows
from blocked accounts; the Block, Undo(Block) and Flag we send (as stored for delivery)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cara_fed.errors import PermissionDenied
from cara_fed.models import Block, Follow, OutgoingActivity, Report
from cara_fed.services import artworks, reports, safety
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from federation.discovery import resolver
from tests import images
from tests.federation.peer import signed_post
from tests.federation.test_inbox import count, items

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


async def outgoing(ctx, type_: str) -> list[dict]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        rows = await session.scalars(select(OutgoingActivity).where(OutgoingActivity.activity_type == type_))
        return [json.loads(row.body) for row in rows.all()]


async def test_follow_from_a_blocked_account_is_rejected(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    remote_alice = await resolver.fetch_actor(fed, alice.id)
    await safety.block(fed, ada, remote_alice)
    [sent] = await outgoing(fed, "Block")
    assert sent["actor"] == fed.url("/users/ada") and sent["object"] == alice.id and sent["to"] == [alice.id]

    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)).status == 202
    async with fed.sessions() as session:
        row = await session.scalar(select(Follow))
    assert row.state == "rejected" and row.uri == follow["id"]
    assert ("FollowRejected", (row.id,)) in fed.jobs.ran
    assert await count(fed, Follow, Follow.state == "accepted") == 0

    await safety.unblock(fed, ada, remote_alice)
    [undo] = await outgoing(fed, "Undo")
    assert undo["object"]["type"] == "Block" and undo["object"]["id"] == sent["id"]
    again = peer.activity(alice, "Follow", fed.url("/users/ada"))
    await signed_post(inbox_client, fed.url("/users/ada/inbox"), again, key=alice)
    assert await count(fed, Follow, Follow.state == "accepted") == 1


async def test_inbound_block_is_recorded_and_undone(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    block = peer.activity(alice, "Block", fed.url("/users/ada"))
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), block, key=alice)).status == 202
    assert await count(fed, Block) == 1
    remote_alice = await resolver.cached_actor(fed, alice.id)
    with pytest.raises(PermissionDenied):
        await safety_follow(fed, ada, remote_alice)

    undo = peer.activity(alice, "Undo", block)
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), undo, key=alice)).status == 202
    assert await count(fed, Block) == 0
    forged = peer.activity(alice, "Undo", {"id": "x", "type": "Block", "actor": "https://elsewhere.example/u",
                                            "object": fed.url("/users/ada")})
    await signed_post(inbox_client, fed.url("/inbox"), forged, key=alice)
    assert (await items(fed))[-1].state == "ignored"


async def safety_follow(ctx, follower, followee):  # type: ignore[no-untyped-def]
    from cara_fed.services import follows

    return await follows.request_follow(ctx, follower, followee)


async def test_inbound_flag_lands_in_the_reports_queue(fed, inbox_client, peer, ada):
    work = await artworks.create_artwork(fed, ada, ArtworkInput(title="Reported"),
                                         [Upload(images.jpeg(64, 48), "a.jpg")])
    server = peer.add_actor("instance", type="Application")
    work_uri = fed.url(f"/@ada/{work.id}")
    flag = peer.activity(server, "Flag", [fed.url("/users/ada"), work_uri], content="<p>Stolen &amp; traced</p>")
    assert (await signed_post(inbox_client, fed.url("/inbox"), flag, key=server)).status == 202
    async with fed.sessions() as session:
        report = await session.scalar(select(Report))
    assert (report.origin, report.target_id, report.artwork_id) == ("inbound", ada.id, work.id)
    assert report.reason == "Stolen & traced" and report.uri == flag["id"] and report.state == "open"

    nobody = peer.activity(server, "Flag", ["https://elsewhere.example/users/x"], content="spam")
    await signed_post(inbox_client, fed.url("/inbox"), nobody, key=server)
    assert (await items(fed))[-1].state == "ignored" and await count(fed, Report) == 1
    empty = peer.activity(server, "Flag", [], content="spam")
    await signed_post(inbox_client, fed.url("/inbox"), empty, key=server)
    assert (await items(fed))[-1].state == "failed"


async def test_reporting_remote_content_sends_a_flag_from_the_instance_actor(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    remote_alice = await resolver.fetch_actor(fed, alice.id)
    await reports.report(fed, ada, remote_alice, None, "Harassment in replies")
    [flag] = await outgoing(fed, "Flag")
    assert flag["actor"] == fed.url("/actor") and flag["object"] == [alice.id]
    assert flag["content"] == "Harassment in replies"
    assert "ada" not in json.dumps(flag)  # the reporter stays anonymous
    async with fed.sessions() as session:
        assert (await session.scalar(select(Report))).forwarded is True
