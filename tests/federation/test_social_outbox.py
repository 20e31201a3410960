"""What the social layer sends: Like to the author only, Announce and comments to our followers and the people
involved, Undo/Delete of each, and the artwork's comment setting as GoToSocial's interactionPolicy — over
real HTTP to the loopback sink."""

from __future__ import annotations

from cara_fed.services import comments, follows, interactions
from cara_fed.services.remote import RemoteArtwork, upsert_artwork
from federation.wire import serialize, serialize_artworks
from federation.wire.serialize import PUBLIC
from tests.federation.sink import activities, local_artist, remote_actor, trust_local


async def remote_work(ctx, sink):  # type: ignore[no-untyped-def]
    author = await remote_actor(ctx, sink, 1, "rosa")
    return author, await upsert_artwork(ctx, author, RemoteArtwork(
        uri=author.uri + "/statuses/1", attributed_to=author.uri, title="Dunes"))


async def test_like_boost_comment_and_their_undo_reach_the_right_inboxes(fed, sink):
    ada = await local_artist(fed)
    trust_local(sink, fed, ada)
    fan = await remote_actor(fed, sink, 0, "fan")
    await follows.receive_follow(fed, fan, ada, f"{fan.uri}/follows/1")
    rosa, work = await remote_work(fed, sink)
    sink.reset()

    await interactions.add(fed, "like", ada, work.id)
    [like] = activities(sink, "Like")
    assert like.port == sink.ports[1]  # the author's server only
    assert like.json["object"] == work.uri and like.json["actor"] == fed.url("/users/ada")
    assert like.json["to"] == [rosa.uri]

    await interactions.add(fed, "boost", ada, work.id)
    announces = activities(sink, "Announce")
    assert sorted(a.port for a in announces) == sorted(sink.ports)  # our follower's server and the author's
    assert announces[0].json["to"] == [PUBLIC] and rosa.uri in announces[0].json["cc"]

    made = await comments.post(fed, ada, work.id, "Beautiful @rosa@" + sink.domain(1) + " #dunes")
    creates = activities(sink, "Create")
    assert sorted(c.port for c in creates) == sorted(sink.ports)
    note = creates[0].json["object"]
    assert note["inReplyTo"] == work.uri and note["id"] == made.uri and made.uri.startswith(fed.url("/comments/"))
    assert {"type": "Mention", "href": rosa.uri, "name": f"@rosa@{sink.domain(1)}"} in note["tag"]
    assert any(t["type"] == "Hashtag" and t["name"] == "#dunes" for t in note["tag"])
    assert rosa.uri in note["cc"] and 'class="u-url mention"' in note["content"]

    await interactions.remove(fed, "like", ada, work.id)
    await interactions.remove(fed, "boost", ada, work.id)
    await comments.delete(fed, ada, made.id)
    undos = activities(sink, "Undo")
    assert {u.json["object"]["type"] for u in undos} == {"Like", "Announce"}
    assert any(u.json["object"]["id"] == like.json["id"] for u in undos)
    [delete_to_author] = [d for d in activities(sink, "Delete") if d.port == sink.ports[1]]
    assert delete_to_author.json["object"]["id"] == made.uri


async def test_comment_setting_is_federated_as_interaction_policy(fed):
    from tests.federation.test_delivery import publish

    ada = await local_artist(fed)
    work = await publish(fed, ada)
    note = serialize_artworks.note_for_artwork(fed, work)
    assert serialize.GTS_CONTEXT in note["@context"]
    assert note["interactionPolicy"]["canReply"]["always"] == [PUBLIC]
    assert note["interactionPolicy"]["canLike"]["automaticApproval"] == [PUBLIC]
    for policy, expected in (("followers", [fed.url("/users/ada/followers"), fed.url("/users/ada")]),
                             ("off", [fed.url("/users/ada")])):
        work = await comments.set_policy(fed, ada, work.id, policy)
        note = serialize_artworks.note_for_artwork(fed, work)
        assert note["interactionPolicy"]["canReply"]["always"] == expected
        assert note["interactionPolicy"]["canAnnounce"]["always"] == [PUBLIC]

    # Our own JSON-LD processor reads the terms back under GoToSocial's IRIs, and another cara-fed reads the
    # setting back from the Note (what a local follower of this artist may do on their server).
    from cara_fed.services.remote import comment_policy_from
    from federation.wire import jsonld, parse_artworks

    expanded = jsonld.jsonld.expand(note, {"documentLoader": jsonld.document_loader})
    assert "https://gotosocial.org/ns#interactionPolicy" in expanded[0]
    for policy in ("everyone", "followers", "off"):
        work = await comments.set_policy(fed, ada, work.id, policy)
        document = {**serialize_artworks.note_for_artwork(fed, work), "@context": serialize.CONTEXT}
        read = parse_artworks.can_reply(jsonld.compact_activity(document))
        remote_author = type(ada)(username="ada", domain="test.example", followers_url=fed.url("/users/ada/followers"))
        assert comment_policy_from(read, remote_author) == policy
