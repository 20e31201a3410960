"""The inbox over real HTTP: a peer on loopback signs activities to our server; jobs run inline."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cara_fed.db import utcnow
from cara_fed.models import Account, Artwork, Follow, InboxItem, Instance, MediaAsset
from cara_fed.services import follows
from federation.discovery import resolver
from federation.inbound import handlers
from federation.inbound.inbox import MAX_BODY
from tests import images
from tests.federation.peer import PUBLIC, signed_post

pytestmark = pytest.mark.usefixtures("inbound")  # what comes in: our outbound jobs are no-ops


async def count(ctx, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def items(ctx) -> list[InboxItem]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return list((await session.scalars(select(InboxItem).order_by(InboxItem.id))).all())


async def refused(response, status: int, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert reason.lower() in body["error"].lower(), body


# --- follow, duplicates --------------------------------------------------------------------------


async def test_signed_follow_is_accepted_processed_and_idempotent(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)
    assert response.status == 202, await response.text()
    assert (await response.json())["status"] == "accepted"
    [item] = await items(fed)
    assert (item.state, item.activity_id, item.recipient, item.activity_type) == (
        "processed", follow["id"], str(ada.id), "Follow")
    async with fed.sessions() as session:
        row = await session.scalar(select(Follow))
    assert row.state == "accepted" and row.uri == follow["id"] and row.followee_id == ada.id
    assert row.follower.uri == alice.id
    assert ("FollowAccepted", (row.id,)) in fed.jobs.ran

    again = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)
    assert again.status == 202 and (await again.json())["status"] == "duplicate"
    assert await count(fed, InboxItem) == 1 and await count(fed, Follow) == 1

    undo = peer.activity(alice, "Undo", follow)
    assert (await signed_post(inbox_client, fed.url("/inbox"), undo, key=alice)).status == 202
    async with fed.sessions() as session:
        assert (await session.scalar(select(Follow))).state == "cancelled"


async def test_rfc9421_signed_post_is_accepted(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice, rfc9421=True)
    assert response.status == 202, await response.text()
    [item] = await items(fed)
    assert item.state == "processed"


# --- refusals: the right 4xx, JSON, nothing stored ------------------------------------------------


async def test_unsigned_post_is_401(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"),
                                 peer.activity(alice, "Follow", fed.url("/users/ada")), key=None)
    await refused(response, 401, "signature")
    assert await count(fed, InboxItem) == 0


async def test_signature_by_another_key_is_401(fed, inbox_client, peer, ada):
    alice, bob = peer.add_actor("alice"), peer.add_actor("bob")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=bob, key_id=alice.key_id)
    await refused(response, 401, "does not verify")
    assert await count(fed, InboxItem) == 0 and await count(fed, Follow) == 0


async def test_key_owner_other_than_actor_is_401(fed, inbox_client, peer, ada):
    alice, bob = peer.add_actor("alice"), peer.add_actor("bob")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=bob)
    await refused(response, 401, "not by the actor")
    assert await count(fed, InboxItem) == 0


async def test_date_two_hours_old_is_401(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice,
                                 now=utcnow() - timedelta(hours=2))
    await refused(response, 401, "Date is 2 hours off")
    assert await count(fed, InboxItem) == 0


async def test_digest_not_matching_the_body_is_401(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    tampered = json.dumps({**follow, "object": fed.url("/users/someone")}).encode()
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice, sent_body=tampered)
    await refused(response, 401, "Digest does not match")
    assert await count(fed, InboxItem) == 0


async def test_rfc9421_content_digest_not_matching_is_401(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice, rfc9421=True,
                                 sent_body=json.dumps({**follow, "type": "Block"}).encode())
    await refused(response, 401, "Content-Digest does not match")


async def test_malformed_json_is_400(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    for body, reason in ((b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
                         (json.dumps({"type": "Follow", "actor": alice.id}).encode(), "needs an id"),
                (b'{"id": "https://x/1", "type": "Like", "actor": "%s", "n": NaN}' % alice.id.encode(), "valid JSON"),
                (json.dumps({"id": "https://x/\u0000", "type": "Like", "actor": alice.id}).encode(), "control"),
                (json.dumps({"id": "https://x/\ud800", "type": "Like", "actor": alice.id}).encode(), "invalid text"),
                         (json.dumps({"@context": ["https://evil.example/ctx"], "id": "https://x/1", "type": "Note",
                                      "actor": alice.id}).encode(), "unsupported JSON-LD context")):
        response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), body, key=alice)
        await refused(response, 400, reason)
    assert await count(fed, InboxItem) == 0


async def test_ten_megabyte_body_is_413(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    huge = b'{"id": "x", "padding": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    response = await signed_post(inbox_client, fed.url("/inbox"), huge, key=alice)
    await refused(response, 413, "limit")

    async def chunks():  # no Content-Length: the cap must hold while streaming
        for _ in range(3):
            yield b" " * (MAX_BODY // 2 + 1)

    streamed = await inbox_client.post("/inbox", data=chunks(), headers={"Content-Type": "application/activity+json"})
    await refused(streamed, 413, "limit")
    assert await count(fed, InboxItem) == 0


async def test_unknown_local_user_is_404(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/nobody"))
    response = await signed_post(inbox_client, fed.url("/users/nobody/inbox"), follow, key=alice)
    await refused(response, 404, "nobody")
    assert await count(fed, InboxItem) == 0


async def test_suspended_domain_is_403(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    async with fed.transaction() as tx:
        tx.session.add(Instance(domain=peer.host, policy="suspend", reason="spam"))
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)
    await refused(response, 403, "suspended")
    assert await count(fed, InboxItem) == 0 and peer.gets == []  # refused before any key fetch


async def test_unreachable_key_is_401_not_500(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    follow = peer.activity(alice, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice,
                                 key_id=peer.base + "/users/missing#main-key")
    await refused(response, 401, "could not get the signing key")
    fed.config.federation.allow_private_addresses = False
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=alice)
    await refused(response, 401, "could not get the signing key")
    assert await count(fed, InboxItem) == 0


async def test_rotated_key_is_refetched_once(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice", slot=0)
    await resolver.fetch_actor(fed, alice.id)  # cached with the old key
    async with fed.transaction() as tx:
        stored = await tx.session.scalar(select(Account).where(Account.uri == alice.id))
        stored.fetched_at = utcnow() - timedelta(hours=2)
    rotated = peer.add_actor("alice", slot=5)  # same actor, new key pair
    follow = peer.activity(rotated, "Follow", fed.url("/users/ada"))
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow, key=rotated)
    assert response.status == 202, await response.text()


# --- artworks: follow, Create with images, Update, Delete ----------------------------------------


async def _follow_alice(fed, inbox_client, peer, ada):  # type: ignore[no-untyped-def]
    """ada follows the peer's alice; alice answers with Accept (object = our Follow's id)."""
    alice = peer.add_actor("alice")
    remote_alice = await resolver.fetch_actor(fed, alice.id)
    follow = await follows.request_follow(fed, ada, remote_alice)
    assert follow.state == "requested"
    accept = peer.activity(alice, "Accept", follow.uri)
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), accept, key=alice)).status == 202
    async with fed.sessions() as session:
        assert (await session.get(Follow, follow.id)).state == "accepted"
    return alice


def _note(peer, alice, note_id: str, **fields):  # type: ignore[no-untyped-def]
    return {"id": f"{alice.id}/notes/{note_id}", "type": "Note", "attributedTo": alice.id, "to": [PUBLIC],
            "cc": [alice.id + "/followers"], "name": "Lighthouse", "content": "<p>Lighthouse</p><p>oil</p>",
            "attachment": [
                {"type": "Document", "mediaType": "image/jpeg", "name": "A lighthouse at night",
                 "url": peer.serve("/media/1.jpg", images.jpeg(900, 600), "image/jpeg"), "width": 900,
                 "height": 600},
                {"type": "Image", "summary": "Detail of the lamp",
                 "url": {"type": "Link", "href": peer.serve("/media/2.png", images.png(400, 300), "image/png"),
                         "mediaType": "image/png"}}],
            **fields}


async def _artwork(ctx, uri):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(Artwork).where(Artwork.uri == uri))


async def test_create_update_delete_of_an_artwork_from_a_followed_peer(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    note = _note(peer, alice, "1")
    create = peer.activity(alice, "Create", note, to=[PUBLIC])
    response = await signed_post(inbox_client, fed.url("/inbox"), create, key=alice)
    assert response.status == 202, await response.text()
    assert [i.state for i in await items(fed)] == ["processed", "processed"]

    art = await _artwork(fed, note["id"])
    assert art is not None and art.state == "published", art and art.state
    assert (art.title, art.visibility, art.account.uri) == ("Lighthouse", "public", alice.id)
    assert [i.alt_text for i in art.images] == ["A lighthouse at night", "Detail of the lamp"]
    for image in art.images:  # fetched from the peer over HTTP, then through the protection pipeline
        assert image.asset.state == "ready" and image.asset.original_key and image.asset.derivatives
    assert {"/media/1.jpg", "/media/2.png"} <= {path for path, _ in peer.gets}

    fetched = len(peer.gets)
    update = peer.activity(alice, "Update", {**note, "name": "Lighthouse (revised)"})
    assert (await signed_post(inbox_client, fed.url("/inbox"), update, key=alice)).status == 202
    art = await _artwork(fed, note["id"])
    assert art.title == "Lighthouse (revised)" and art.state == "published"
    assert len(peer.gets) == fetched  # same images: nothing fetched again

    delete = peer.activity(alice, "Delete", {"id": note["id"], "type": "Tombstone"})
    assert (await signed_post(inbox_client, fed.url("/inbox"), delete, key=alice)).status == 202
    assert await _artwork(fed, note["id"]) is None
    assert await count(fed, MediaAsset) == 0
    assert (await items(fed))[-1].state == "processed"


async def test_create_attributed_to_someone_else_is_202_but_stores_nothing(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    bob = peer.add_actor("bob")
    forged = _note(peer, alice, "2", attributedTo=bob.id)
    response = await signed_post(inbox_client, fed.url("/inbox"), peer.activity(alice, "Create", forged), key=alice)
    assert response.status == 202
    item = (await items(fed))[-1]
    assert item.state == "ignored" and "attributed to" in item.error
    assert await count(fed, Artwork) == 0 and await count(fed, MediaAsset) == 0


async def test_create_from_someone_nobody_follows_is_ignored(fed, inbox_client, peer, ada):
    carol = peer.add_actor("carol")
    create = peer.activity(carol, "Create", _note(peer, carol, "3"))
    assert (await signed_post(inbox_client, fed.url("/inbox"), create, key=carol)).status == 202
    item = (await items(fed))[-1]
    assert item.state == "ignored" and "nobody here follows" in item.error
    assert await count(fed, Artwork) == 0
    # Addressed to one of us (to her own inbox): still not stored, and its images are never fetched.
    addressed = peer.activity(carol, "Create", _note(peer, carol, "4", cc=[fed.url("/users/ada")]))
    gets_before = len(peer.gets)
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), addressed, key=carol)).status == 202
    item = (await items(fed))[-1]
    assert item.state == "ignored" and "images not fetched" in item.error
    assert await count(fed, Artwork) == 0 and await count(fed, MediaAsset) == 0
    assert not [path for path, _ in peer.gets[gets_before:] if not path.startswith("/users/")]


async def test_actor_update_and_delete(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    update = peer.activity(alice, "Update", {**peer.actor_document(alice), "name": "Alice Renamed"})
    assert (await signed_post(inbox_client, fed.url("/inbox"), update, key=alice)).status == 202
    stored = await resolver.cached_actor(fed, alice.id)
    assert stored.display_name == "Alice Renamed"

    bob = peer.add_actor("bob")
    spoof = peer.activity(bob, "Update", {**peer.actor_document(alice), "name": "Hacked"})
    assert (await signed_post(inbox_client, fed.url("/inbox"), spoof, key=bob)).status == 202
    assert (await resolver.cached_actor(fed, alice.id)).display_name == "Alice Renamed"
    assert (await items(fed))[-1].state == "ignored"

    peer.actors["alice"].gone = True
    delete = peer.activity(alice, "Delete", alice.id, to=[PUBLIC])
    assert (await signed_post(inbox_client, fed.url("/inbox"), delete, key=alice)).status == 202
    assert await resolver.cached_actor(fed, alice.id) is None
    assert await count(fed, Follow) == 0


async def test_farewell_of_an_unknown_deleted_actor_is_a_quiet_202(fed, inbox_client, peer, ada):
    ghost = peer.add_actor("ghost")
    ghost.gone = True
    delete = peer.activity(ghost, "Delete", ghost.id)
    response = await signed_post(inbox_client, fed.url("/inbox"), delete, key=ghost)
    assert response.status == 202 and await count(fed, InboxItem) == 0


async def test_block_ends_both_directions(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    follow_in = peer.activity(alice, "Follow", fed.url("/users/ada"))
    await signed_post(inbox_client, fed.url("/users/ada/inbox"), follow_in, key=alice)
    assert await count(fed, Follow, Follow.state == "accepted") == 2
    block = peer.activity(alice, "Block", fed.url("/users/ada"))
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), block, key=alice)).status == 202
    assert await count(fed, Follow, Follow.state == "accepted") == 0


async def test_unhandled_types_are_recorded_as_ignored(fed, inbox_client, peer, ada):
    alice = peer.add_actor("alice")
    like = peer.activity(alice, "Like", fed.url("/@ada/1"))
    assert (await signed_post(inbox_client, fed.url("/inbox"), like, key=alice)).status == 202
    [item] = await items(fed)
    assert item.state == "ignored" and "Like" in item.error


async def test_network_failure_is_retried_and_the_sweep_requeues(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    note_url = peer.serve("/notes/late", b"", status=503)
    create = peer.activity(alice, "Create", note_url)  # only the IRI: the worker must fetch it
    assert (await signed_post(inbox_client, fed.url("/inbox"), create, key=alice)).status == 202
    item = (await items(fed))[-1]
    assert item.state == "retry" and item.attempts == 1 and "503" in item.error

    peer.serve("/notes/late", _note(peer, alice, "late", id=note_url))
    assert await handlers.sweep_inbox(fed) == 0  # not overdue yet
    async with fed.transaction() as tx:
        row = await tx.session.get(InboxItem, item.id)
        row.state_changed_at = utcnow() - timedelta(minutes=5)
    assert await handlers.sweep_inbox(fed) == 1
    item = (await items(fed))[-1]
    assert item.state == "processed" and item.attempts == 2
    assert (await _artwork(fed, note_url)).state == "published"


async def test_gives_up_after_five_attempts(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    create = peer.activity(alice, "Create", peer.serve("/notes/down", b"", status=502))
    await signed_post(inbox_client, fed.url("/inbox"), create, key=alice)
    item_id = (await items(fed))[-1].id
    for _ in range(6):
        await handlers.process_inbox(fed, item_id)
    item = (await items(fed))[-1]
    assert item.state == "failed" and item.attempts == 5 and "gave up" in item.error


async def test_reject_of_our_follow_request(fed, inbox_client, peer, ada):
    alice = await _follow_alice(fed, inbox_client, peer, ada)
    async with fed.sessions() as session:
        ours = await session.scalar(select(Follow).where(Follow.follower_id == ada.id))
    reject = peer.activity(alice, "Reject", {"id": ours.uri, "type": "Follow", "actor": fed.url("/users/ada"),
                                             "object": alice.id})
    assert (await signed_post(inbox_client, fed.url("/users/ada/inbox"), reject, key=alice)).status == 202
    async with fed.sessions() as session:
        assert (await session.get(Follow, ours.id)).state == "cancelled"  # Reject after Accept: removed


async def test_the_full_application_routes_the_inbox(config, aiohttp_client):
    """Wiring: setup_federation registers these routes, and no page middleware turns refusals into HTML."""
    from cara_fed_run.app import create_app

    app_client = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    headers = {"Content-Type": "application/activity+json"}
    await refused(await app_client.post("/inbox", data=b"{nope", headers=headers), 400, "not valid JSON")
    activity = json.dumps({"id": "https://a.example/1", "type": "Follow", "actor": "https://a.example/u",
                           "object": "http://test.example/users/nobody"})
    await refused(await app_client.post("/users/nobody/inbox", data=activity, headers=headers), 404, "nobody")
    await refused(await app_client.post("/inbox", data=activity, headers=headers), 401, "signature")


async def test_a_context_that_remaps_actor_cannot_act_for_someone_else(fed, inbox_client, peer, ada):
    alice, mallory = peer.add_actor("alice"), peer.add_actor("mallory")
    await resolver.fetch_actor(fed, alice.id)
    # Raw `actor` is mallory (who signs); after JSON-LD processing as:actor would be alice.
    swapped = {"@context": ["https://www.w3.org/ns/activitystreams", {"actor": {"@id": "as:object", "@type": "@id"},
                                                                        "object": {"@id": "as:actor", "@type": "@id"}}],
               "id": peer.base + "/activities/swap", "type": "Follow", "actor": mallory.id, "object": alice.id}
    response = await signed_post(inbox_client, fed.url("/users/ada/inbox"), swapped, key=mallory)
    assert response.status == 202
    [item] = await items(fed)
    assert item.state == "failed" and "compaction" in item.error
    assert await count(fed, Follow) == 0
