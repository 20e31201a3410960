"""What a hostile peer must not be able to do, over real HTTP into our inbox (SQLite and PostgreSQL):
squat another server's key id, or like and comment on followers-only works it cannot see."""

from __future__ import annotations

import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from cara_fed.models import Account, Comment, Follow, Like
from federation.inbound.inbox import setup_inbox
from tests.federation.peer import PUBLIC, enable_federation, running_peer, signed_post
from tests.federation.sink import local_artist
from tests.federation.test_delivery import publish
from tests.federation.test_social_inbox import last_item, note


@pytest.fixture
async def peers():  # type: ignore[no-untyped-def]
    async with running_peer() as victim_server, running_peer() as attacker_server:
        yield victim_server, attacker_server


@pytest.fixture
def fed(ctx):  # type: ignore[no-untyped-def]
    return enable_federation(ctx)


@pytest.fixture
async def client(fed, aiohttp_client):  # type: ignore[no-untyped-def]
    app = web.Application()
    setup_inbox(app, fed)
    return await aiohttp_client(app)


async def count(ctx, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def follow(client, fed, peer, actor):  # type: ignore[no-untyped-def]
    activity = peer.activity(actor, "Follow", fed.url("/users/ada"))
    return await signed_post(client, fed.url("/inbox"), activity, key=actor)


async def test_an_actor_cannot_squat_a_key_id_on_another_server(fed, client, peers):
    await local_artist(fed)
    victim_server, attacker_server = peers
    vic = victim_server.add_actor("vic")
    mal = attacker_server.add_actor("mal", slot=1)
    squatting = {**attacker_server.actor_document(mal),
                 "publicKey": {"id": vic.key_id, "owner": mal.id, "publicKeyPem": mal.public_pem}}
    response = await signed_post(client, fed.url("/inbox"), attacker_server.activity(mal, "Update", squatting,
                                                                                     to=[PUBLIC]), key=mal)
    assert response.status == 202
    async with fed.sessions() as session:
        stored = await session.scalar(select(Account).where(Account.uri == mal.id))
    assert stored.key_id == mal.key_id  # the Update's foreign key id was refused; our copy is mal's own document

    # The real owner of that key id is not locked out.
    response = await follow(client, fed, victim_server, vic)
    assert response.status == 202, await response.text()
    assert (await last_item(fed)).state == "processed"
    assert await count(fed, Follow, Follow.state == "accepted") == 1


async def test_a_key_squatted_before_the_rule_goes_back_to_its_owner(fed, client, peers):
    """Rows stored before key ids had to be on the actor's origin: the verified owner takes its key back
    (no 401 and no 503 from the unique key id, however often the owner tries)."""
    await local_artist(fed)
    victim_server, attacker_server = peers
    vic = victim_server.add_actor("vic")
    mal = attacker_server.add_actor("mal", slot=1)
    assert (await follow(client, fed, attacker_server, mal)).status == 202  # stores mal
    async with fed.transaction() as tx:
        await tx.session.execute(update(Account).where(Account.uri == mal.id)
                                 .values(key_id=vic.key_id, public_key_pem=mal.public_pem))
    for _ in range(2):
        response = await follow(client, fed, victim_server, vic)
        assert response.status == 202, await response.text()
    async with fed.sessions() as session:
        owners = (await session.scalars(select(Account.uri).where(Account.key_id == vic.key_id))).all()
    assert owners == [vic.id]


async def test_lookup_errors_never_show_sql(client, fed, peers):
    """A lookup that fails inside the database says so in plain words (the old page printed the INSERT)."""
    from cara_fed.directory import LookupFailed
    from federation.directory import FederationDirectory

    victim_server, _ = peers
    vic = victim_server.add_actor("vic")
    # A duplicate (username, domain) row that is not the actor: the upsert's INSERT then breaks a constraint.
    async with fed.transaction() as tx:
        tx.session.add(Account(uri=vic.id + "-old", username="vic", domain=victim_server.host))
    with pytest.raises(LookupFailed) as failed:
        await FederationDirectory(fed).resolve_handle("vic", victim_server.host)
    message = str(failed.value)
    assert "INSERT" not in message and "SELECT" not in message and "[SQL" not in message
    assert "@vic@" in message


@pytest.fixture
async def followers_only(fed):  # type: ignore[no-untyped-def]
    artist = await local_artist(fed)
    return await publish(fed, artist, title="Sketchbook", visibility="followers")


async def test_strangers_cannot_like_or_reply_to_followers_only_works(fed, client, peers, followers_only):
    peer, _ = peers
    stranger = peer.add_actor("stranger")
    work_id = fed.url(f"/@ada/{followers_only.id}")
    response = await signed_post(client, fed.url("/inbox"), peer.activity(stranger, "Like", work_id), key=stranger)
    assert response.status == 202
    item = await last_item(fed)
    assert item.state == "ignored" and "not visible" in item.error
    reply = note(peer, stranger, work_id, "<p>nice</p>")
    await signed_post(client, fed.url("/inbox"), peer.activity(stranger, "Create", reply, to=[PUBLIC]), key=stranger)
    item = await last_item(fed)
    assert item.state == "ignored" and "not visible" in item.error
    assert await count(fed, Like) == 0 and await count(fed, Comment) == 0

    # An accepted follower may do both (and no one may boost a followers-only work).
    fan = peer.add_actor("fan")
    assert (await follow(client, fed, peer, fan)).status == 202
    await signed_post(client, fed.url("/inbox"), peer.activity(fan, "Like", work_id), key=fan)
    assert (await last_item(fed)).state == "processed"
    fan_reply = note(peer, fan, work_id, "<p>lovely</p>")
    await signed_post(client, fed.url("/inbox"), peer.activity(fan, "Create", fan_reply, to=[PUBLIC]), key=fan)
    assert (await last_item(fed)).state == "processed"
    await signed_post(client, fed.url("/inbox"), peer.activity(fan, "Announce", work_id, to=[PUBLIC]), key=fan)
    boost = await last_item(fed)
    assert boost.state == "ignored" and "cannot be boosted" in boost.error
    assert await count(fed, Like) == 1 and await count(fed, Comment, Comment.state == "visible") == 1
