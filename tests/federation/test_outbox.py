"""What we send, to whom, and only once: the outbox jobs over real HTTP to the loopback sink."""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.models import Account, Follow, MediaAsset, OutgoingActivity
from cara_fed.services import artworks, follows
from cara_fed.services.artworks import ArtworkInput
from federation.outbound import outbox
from federation.wire.serialize import PUBLIC
from tests.federation.sink import activities, local_artist, remote_actor, trust_local
from tests.federation.test_delivery import posts, publish, rows, with_followers


async def lock(ctx, account: Account) -> Account:  # type: ignore[no-untyped-def]
    async with ctx.transaction() as tx:
        row = await tx.session.get(Account, account.id)
        row.locked = True
    return row


async def outgoing(ctx, type_: str) -> list[OutgoingActivity]:  # type: ignore[no-untyped-def]
    return await rows(ctx, OutgoingActivity, OutgoingActivity.activity_type == type_)


async def test_followers_only_work_without_remote_followers_sends_nothing(fed, sink):
    artist = await local_artist(fed)
    await follows.request_follow(fed, await local_artist(fed, "bea"), artist)  # a local follower only
    await publish(fed, artist, visibility="followers")
    assert await rows(fed, OutgoingActivity) == [] and sink.received == []


async def test_followers_only_work_goes_to_followers_only(fed, sink):
    artist = await with_followers(fed, sink, (2, 0))
    pending = await remote_actor(fed, sink, 1, "asked")  # a request that is not accepted yet
    artist = await lock(fed, artist)
    await follows.receive_follow(fed, pending, artist, f"{pending.uri}/follows/1")
    work = await publish(fed, artist, visibility="followers")
    [create] = activities(sink, "Create")
    assert create.port == sink.ports[0]
    assert create.json["to"] == [fed.url("/users/ada/followers")] and create.json["cc"] == []
    assert PUBLIC not in str(create.json)

    await outbox.artwork_published(fed, work.id)  # the job again: nothing new
    assert len(await outgoing(fed, "Create")) == 1 and len(activities(sink, "Create")) == 1


async def test_update_is_sent_once_per_edit(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    work = await publish(fed, artist)
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Heron at dusk"))
    await outbox.artwork_updated(fed, work.id)  # a repeated job
    updates = activities(sink, "Update")
    assert len(updates) == 2 and {u.json["object"]["name"] for u in updates} == {"Heron at dusk"}
    assert updates[0].json["object"]["type"] == "Note" and updates[0].json["id"].startswith(fed.url("/activities/"))
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Heron at night"))
    assert len(await outgoing(fed, "Update")) == 2 and len(activities(sink, "Update")) == 4


async def public_keys(ctx, work) -> set[str]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return {d.key for d in (await session.get(MediaAsset, work.images[0].asset_id)).derivatives}


async def test_a_licence_change_sends_one_update_naming_the_restamped_files(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    work = await publish(fed, artist)
    old_keys = await public_keys(fed, work)
    cc_by = "https://creativecommons.org/licenses/by/4.0/"
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Heron", license=cc_by))
    new_keys = await public_keys(fed, work)
    assert new_keys.isdisjoint(old_keys)  # the files now carry the licence, so they have new keys
    [update] = activities(sink, "Update")  # one, not one before the re-stamp and one after it
    assert len(await outgoing(fed, "Update")) == 1
    # One Update job: inline, the re-stamp runs first and a second job would find nothing new to send, but a
    # worker may run that one before the re-stamp, and it would name the replaced files.
    assert [name for name, _ in fed.jobs.ran].count("ArtworkUpdated") == 1
    [image] = [a for a in update.json["object"]["attachment"] if a.get("type") == "Document"]
    assert image["url"].rsplit("/", 1)[-1] in {k.rsplit("/", 1)[-1] for k in new_keys}
    assert update.json["object"]["license"] == cc_by


async def test_a_noai_change_still_updates_followers_when_no_file_can_be_restamped(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    work = await publish(fed, artist)
    keys = await public_keys(fed, work)
    for key in keys:  # files the re-stamp cannot write XMP into: nothing changes but the Note
        await fed.storage.put("public", key, b"GIF89a (not a format that carries XMP)")
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(title="Heron", noai=False))
    assert await public_keys(fed, work) == keys
    [update] = activities(sink, "Update")
    assert len(await outgoing(fed, "Update")) == 1 and update.json["object"]["cara:noAI"] is False
    assert [name for name, _ in fed.jobs.ran].count("ArtworkUpdated") == 1


async def test_delete_sends_a_tombstone_to_the_same_audience(fed, sink):
    artist = await with_followers(fed, sink, (1, 1))
    work = await publish(fed, artist, visibility="unlisted")
    [create] = await outgoing(fed, "Create")
    note_id = fed.url(f"/@ada/{work.id}")
    await artworks.delete_artwork(fed, artist, work.id)
    deletes = activities(sink, "Delete")
    assert sorted(d.port for d in deletes) == sorted(sink.ports)
    body = deletes[0].json
    assert body["object"] == {"id": note_id, "type": "Tombstone", "formerType": "Note"}
    assert (body["to"], body["cc"]) == ([fed.url("/users/ada/followers")], [PUBLIC])  # as the Create was
    assert all(d.verified for d in deletes)

    await outbox.artwork_deleted(fed, artist.id, note_id)  # again: nothing new
    [recorded] = await outgoing(fed, "Delete")
    assert recorded.artwork_id == create.artwork_id == work.id  # the artist's delivery log keeps the history
    assert len(activities(sink, "Delete")) == 2


async def test_accept_and_reject_echo_the_original_follow_id(fed, sink):
    artist = await local_artist(fed)
    trust_local(sink, fed, artist)
    fan = await remote_actor(fed, sink, 0, "fan", shared=False)
    await follows.receive_follow(fed, fan, artist, "http://elsewhere.example/follow/abc")
    [accept] = activities(sink, "Accept")
    assert accept.path == "/users/fan/inbox" and accept.verified
    assert accept.json["object"] == {"id": "http://elsewhere.example/follow/abc", "type": "Follow",
                                     "actor": fan.uri, "object": fed.url("/users/ada")}
    assert accept.json["actor"] == fed.url("/users/ada") and accept.json["to"] == [fan.uri]
    [follow] = await rows(fed, Follow)
    await outbox.send_accept(fed, follow.id)  # a repeated job
    assert len(activities(sink, "Accept")) == 1

    artist = await lock(fed, artist)
    other = await remote_actor(fed, sink, 1, "other")
    request = await follows.receive_follow(fed, other, artist, "http://elsewhere.example/follow/xyz")
    await follows.decide_request(fed, artist, request.id, approve=False)
    [reject] = activities(sink, "Reject")
    assert reject.json["object"]["id"] == "http://elsewhere.example/follow/xyz" and reject.port == sink.ports[1]


async def test_follow_undo_and_follow_again(fed, sink):
    me = await local_artist(fed)
    trust_local(sink, fed, me)
    them = await remote_actor(fed, sink, 0, "painter")
    follow = await follows.request_follow(fed, me, them)
    [sent] = activities(sink, "Follow")
    assert sent.json["id"] == follow.uri and sent.json["object"] == them.uri and sent.path == "/users/painter/inbox"
    assert sent.verified

    await follows.unfollow(fed, me, them)
    [undo] = activities(sink, "Undo")
    assert undo.json["object"]["id"] == follow.uri and undo.json["object"]["type"] == "Follow"

    again = await follows.request_follow(fed, me, them)  # SQLite may hand the new row the old id (and uri)
    assert len(activities(sink, "Follow")) == 2 and activities(sink, "Follow")[1].json["id"] == again.uri
    # Where the id was reused, the earlier event's row made way for this one.
    assert len(await posts(fed, type_="Follow")) == (1 if again.uri == follow.uri else 2)


async def test_profile_update_goes_to_followers(fed, sink):
    artist = await with_followers(fed, sink, (2, 1))
    await outbox.account_updated(fed, artist.id)
    await outbox.account_updated(fed, artist.id)
    updates = activities(sink, "Update")
    assert len(updates) == 2 and updates[0].json["object"]["type"] == "Person"
    assert updates[0].json["object"]["publicKey"]["id"] == fed.url("/users/ada#main-key")
    assert updates[0].json["to"] == [PUBLIC]


async def test_recipients_deduplicate_by_shared_inbox(fed, sink):
    artist = await local_artist(fed)
    for n in range(3):
        fan = await remote_actor(fed, sink, 0, f"shared{n}")
        await follows.receive_follow(fed, fan, artist, f"{fan.uri}/follows/1")
    loner = await remote_actor(fed, sink, 1, "loner", shared=False)
    await follows.receive_follow(fed, loner, artist, f"{loner.uri}/follows/1")
    async with fed.sessions() as session:
        inboxes = await outbox.follower_inboxes(session, artist.id)
        assert await session.scalar(select(Account.id).where(Account.username == "loner"))
    assert sorted(inboxes) == sorted([sink.url(0, "/inbox"), sink.url(1, "/users/loner/inbox")])


async def test_a_moderators_takedown_of_a_published_work_sends_a_delete(fed, sink):
    from cara_fed.services import review
    from cara_fed.services.media import Upload
    from tests.web.test_review import generated_png

    artist = await with_followers(fed, sink, (1, 1))
    labelled = await artworks.create_artwork(fed, artist, ArtworkInput(title="Dusk light"),
                                             [Upload(generated_png(), "gen.png", "a lighthouse")])
    assert len(activities(sink, "Create")) == 2  # published with a label (the default policy)
    async with fed.transaction() as tx:
        moderator = await tx.session.get(Account, (await local_artist(fed, "boss")).id)
        moderator.is_admin = True
    case = await review.appeal(fed, artist, labelled.id, "Painted by hand.")
    await review.decide(fed, moderator, case.id, "reject", "The parameters chunk says otherwise.")
    deletes = activities(sink, "Delete")
    assert sorted(d.port for d in deletes) == sorted(sink.ports)
    assert deletes[0].json["object"]["id"] == fed.url(f"/@ada/{labelled.id}")


async def test_a_moderators_relabel_of_a_published_work_sends_one_update(fed, sink):
    from cara_fed.services import review
    from cara_fed.services.media import Upload
    from tests.web.test_review import generated_png

    artist = await with_followers(fed, sink, (1, 0))
    labelled = await artworks.create_artwork(fed, artist, ArtworkInput(title="Dusk light"),
                                             [Upload(generated_png(), "gen.png", "a lighthouse")])
    old_keys = await public_keys(fed, labelled)
    async with fed.transaction() as tx:
        moderator = await tx.session.get(Account, (await local_artist(fed, "boss")).id)
        moderator.is_admin = True
    case = await review.appeal(fed, artist, labelled.id, "Painted by hand.")
    fed.jobs.ran.clear()
    await review.decide(fed, moderator, case.id, "publish", "Process shots convinced us.")
    new_keys = await public_keys(fed, labelled)
    assert new_keys.isdisjoint(old_keys)  # the files no longer carry the AI label, so they have new keys
    # One Update, sent by the re-stamp once the files carry the decision (not one before it and one after).
    assert [name for name, _ in fed.jobs.ran].count("ArtworkUpdated") == 1
    [update] = activities(sink, "Update")
    [image] = [a for a in update.json["object"]["attachment"] if a.get("type") == "Document"]
    assert image["url"].rsplit("/", 1)[-1] in {k.rsplit("/", 1)[-1] for k in new_keys}
