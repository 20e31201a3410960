"""@mentions in descriptions and bios on the wire (issue 16, item 4): the Note and the actor carry a Mention
tag per mentioned account, public and unlisted works cc the mentioned and are delivered to their inboxes,
followers-only works mention nobody. Real jobs over HTTP to the loopback sink, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from cara_fed.services import accounts, artworks
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from federation.wire.serialize import PUBLIC
from tests import images
from tests.federation.sink import Sink, activities, local_artist, remote_actor, trust_local
from tests.federation.test_delivery import with_followers


@pytest.fixture
async def sink():  # type: ignore[no-untyped-def]
    server = await Sink().start(ports=2)
    yield server
    await server.stop()


@pytest.fixture
def fed(ctx):  # type: ignore[no-untyped-def]
    ctx.config.federation.allow_private_addresses = True
    return ctx


async def _work(ctx, artist, description: str, visibility: str = "public"):  # type: ignore[no-untyped-def]
    return await artworks.create_artwork(ctx, artist, ArtworkInput(title="Heron", description=description,
                                                                   visibility=visibility),
                                         [Upload(images.jpeg(320, 240), "h.jpg", "a heron")])


def _mentions(note: dict) -> list[dict]:
    return [t for t in note.get("tag", []) if t["type"] == "Mention"]


async def test_a_public_work_tags_addresses_and_delivers_to_the_mentioned(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))  # a follower on instance 0 only
    painter = await remote_actor(fed, sink, 1, "painter", shared=False)  # someone on instance 1, not following
    bea = await local_artist(fed, "bea")
    handle = f"@painter@{sink.domain(1)}"
    await _work(fed, artist, f"With {handle} and @bea, not @nobody nor bea@example.org.")

    [to_follower] = [c for c in activities(sink, "Create") if c.port == sink.ports[0]]
    [to_painter] = [c for c in activities(sink, "Create") if c.port == sink.ports[1]]
    assert to_painter.path == "/users/painter/inbox" and to_painter.verified  # Mastodon notifies on arrival
    note = to_follower.json["object"]
    assert to_painter.json["object"] == note
    assert _mentions(note) == [{"type": "Mention", "href": painter.uri, "name": handle},
                               {"type": "Mention", "href": fed.url("/users/bea"), "name": "@bea@test.example"}]
    assert note["to"] == [PUBLIC] and note["cc"] == [fed.url("/users/ada/followers"), painter.uri,
                                                      fed.url("/users/bea")]
    assert to_follower.json["cc"] == note["cc"]  # the Create is addressed as its Note
    content = note["content"]
    assert (f'<span class="h-card"><a href="{painter.uri}" class="u-url mention">@<span>painter</span></a></span>'
            in content)
    assert f'<a href="{fed.url("/@bea")}" class="u-url mention">@<span>bea</span></a>' in content
    assert "@nobody" in content and "bea@example.org" in content and content.count("u-url mention") == 2
    assert bea.id  # a local account is tagged and cc'd, never sent HTTP


async def test_an_edit_that_adds_a_mention_updates_the_tags_and_reaches_them(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    painter = await remote_actor(fed, sink, 1, "painter", shared=False)
    work = await _work(fed, artist, "A heron.", visibility="unlisted")
    assert not _mentions(activities(sink, "Create")[0].json["object"])
    await artworks.update_artwork(fed, artist, work.id, ArtworkInput(
        title="Heron", description=f"A heron, for @painter@{sink.domain(1)}", visibility="unlisted"))
    updates = activities(sink, "Update")
    assert sorted(u.port for u in updates) == sorted(sink.ports)
    note = updates[0].json["object"]
    assert [m["href"] for m in _mentions(note)] == [painter.uri]
    assert note["to"] == [fed.url("/users/ada/followers")] and note["cc"] == [PUBLIC, painter.uri]


async def test_a_followers_only_work_mentions_nobody_beyond_its_followers(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    await remote_actor(fed, sink, 1, "painter", shared=False)
    await _work(fed, artist, f"For @painter@{sink.domain(1)}", visibility="followers")
    [create] = activities(sink, "Create")
    assert create.port == sink.ports[0] and create.json["cc"] == [] and not _mentions(create.json["object"])


async def test_the_actor_tags_the_people_its_bio_mentions(fed, sink):
    artist = await with_followers(fed, sink, (1, 0))
    painter = await remote_actor(fed, sink, 1, "painter")
    trust_local(sink, fed, artist)
    await accounts.update_profile(fed, artist.id, display_name="Ada", bio=f"Studio mate of @painter@{sink.domain(1)}",
                                  location="", links=[], skills=[], open_to_work=False, noai_default=True,
                                  locked=False, discoverable=True)
    [update] = activities(sink, "Update")
    actor = update.json["object"]
    assert _mentions(actor) == [{"type": "Mention", "href": painter.uri, "name": f"@painter@{sink.domain(1)}"}]
    assert f'<a href="{painter.uri}" class="u-url mention">@<span>painter</span></a>' in actor["summary"]


async def test_a_remote_profile_url_that_is_not_http_is_never_linked(fed, sink):
    from cara_fed.models import Account

    artist = await with_followers(fed, sink, (1, 0))
    painter = await remote_actor(fed, sink, 1, "painter")
    async with fed.transaction() as tx:  # what a hostile actor document could have left in `url`
        (await tx.session.get(Account, painter.id)).url = "javascript:alert(1)"
    await _work(fed, artist, f"For @painter@{sink.domain(1)}")
    note = activities(sink, "Create")[0].json["object"]
    assert "javascript" not in note["content"]
    assert f'<a href="{painter.uri}" class="u-url mention">' in note["content"]  # its actor id instead
