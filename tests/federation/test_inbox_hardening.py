"""Issue 12, defect 8 at the inbox, over real HTTP from a signing peer, on SQLite and PostgreSQL: bodies nested
too deep are a 400 at the door (never a 503 "retry", never a RecursionError in the worker), and a remote Note
carrying NUL bytes is stored without them (PostgreSQL text cannot hold NUL: it used to fail on every retry)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from cara_fed.json_limits import MAX_DEPTH
from cara_fed.models import Comment, InboxItem
from tests.federation.peer import PUBLIC, signed_post

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


def nested(levels: int) -> dict:
    """An object whose `content` holds `levels` lists inside each other."""
    value: object = "deep"
    for _ in range(levels):
        value = [value]
    return {"type": "Note", "content": value}


async def stored_items(ctx) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboxItem)) or 0


async def test_a_body_nested_100k_deep_is_a_400_not_a_503(fed, inbox_client, peer, work):
    body = '{"id": "https://x.example/1", "type": "Create", "actor": "https://x.example/a", "object": ' \
           + "[" * 100_000 + "]" * 100_000 + "}"
    response = await inbox_client.post("/inbox", data=body, headers={"Content-Type": "application/activity+json"})
    assert response.status == 400, await response.text()
    assert "deeper than" in (await response.json())["error"]
    assert await stored_items(fed) == 0


async def test_a_signed_activity_400_deep_is_refused_before_the_worker(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    create = peer.activity(alice, "Create", {**nested(400), "id": f"{alice.id}/notes/deep",
                                             "attributedTo": alice.id, "to": [PUBLIC]})
    response = await signed_post(inbox_client, fed.url("/inbox"), create, key=alice)
    assert response.status == 400, await response.text()
    assert await stored_items(fed) == 0
    # Just inside the limit still goes through: the limit refuses only what no real server sends.
    shallow = peer.activity(alice, "Like", fed.url(f"/@ada/{work.id}"))
    shallow["extra"] = nested(MAX_DEPTH - 3)
    assert len(json.dumps(shallow)) < 4000
    response = await signed_post(inbox_client, fed.url("/inbox"), shallow, key=alice)
    assert response.status == 202, await response.text()


async def test_a_remote_reply_with_nul_bytes_is_stored_without_them(fed, inbox_client, peer, work):
    alice = peer.add_actor("alice")
    reply = {"id": f"{peer.base}/users/alice/statuses/1\u0000x", "type": "Note", "attributedTo": alice.id,
             "inReplyTo": fed.url(f"/@ada/{work.id}"), "content": "<p>Lov\u0000ely</p>",
             "summary": "cw\u0000", "published": "2026-12-01T10:00:00Z", "to": [PUBLIC]}
    create = peer.activity(alice, "Create", reply, to=[PUBLIC])
    response = await signed_post(inbox_client, fed.url("/inbox"), create, key=alice)
    assert response.status == 202, await response.text()
    async with fed.sessions() as session:
        item = await session.scalar(select(InboxItem).order_by(InboxItem.id.desc()).limit(1))
        stored = await session.scalar(select(Comment))
    assert item.state == "processed", item.error
    assert stored is not None and "Lovely" in stored.content_html and "\x00" not in stored.content_html
    assert "\x00" not in stored.uri
