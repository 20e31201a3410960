"""What /authorize_interaction resolves (federation/discovery/lookup.py), against the in-test peer over real HTTP, on
SQLite and PostgreSQL: a profile page URL leads to its actor, a Note with images becomes a stored artwork
(media fetched), and everything that cannot be followed or liked here (a suspended server, a private
address) is refused with a sentence."""

from __future__ import annotations

import json

import pytest

from cara_fed.directory import LookupFailed
from cara_fed.models import Account, Artwork
from cara_fed.services import instances
from federation.discovery.lookup import resolve_uri
from tests import images
from tests.federation.peer import AS, PUBLIC
from tests.federation.test_resolver import fed  # noqa: F401  (fixture)


def note(peer, author, number: str, *, with_image: bool = True, **fields) -> dict:  # type: ignore[no-untyped-def]
    image = [{"type": "Document", "mediaType": "image/jpeg", "name": "Gulls over a pier", "width": 320,
              "height": 240, "url": peer.serve(f"/media/{number}.jpg", images.jpeg(320, 240), "image/jpeg")}]
    return {"@context": AS, "id": f"{author.id}/statuses/{number}", "type": "Note", "attributedTo": author.id,
            "to": [PUBLIC], "content": "<p>Pier</p>", "attachment": image if with_image else [], **fields}


async def test_profile_urls_handles_and_notes_resolve(fed, peer):  # noqa: F811
    alice = peer.add_actor("alice")
    peer.serve("/@alice", peer.actor_document(alice))  # the profile page answers AP too, as on Mastodon
    by_page = await resolve_uri(fed, f"{peer.base}/@alice")
    assert isinstance(by_page, Account) and by_page.uri == alice.id
    for handle in (f"acct:alice@{peer.host}", f"@alice@{peer.host}", f"alice@{peer.host}"):
        assert (await resolve_uri(fed, handle)).id == by_page.id

    doc = note(peer, alice, "1")
    peer.serve("/users/alice/statuses/1", doc)
    work = await resolve_uri(fed, doc["id"])
    assert isinstance(work, Artwork) and work.uri == doc["id"] and work.account_id == by_page.id
    async with fed.sessions() as session:
        stored = await session.get(Artwork, work.id)
        assert stored.state == "published" and stored.images[0].alt_text == "Gulls over a pier"
    assert (await resolve_uri(fed, doc["id"])).id == work.id  # the same row the next time


async def test_what_cannot_be_followed_or_liked_here_is_refused_clearly(fed, peer):  # noqa: F811
    alice, service = peer.add_actor("alice"), peer.add_actor("relay", type="Application")
    peer.serve("/users/alice/statuses/2", note(peer, alice, "2", with_image=False))
    peer.serve("/users/alice/statuses/3", note(peer, alice, "3", attributedTo="https://elsewhere.example/u/eve"))
    peer.serve("/users/alice/collections/x", {"@context": AS, "id": f"{peer.base}/users/alice/collections/x",
                                              "type": "OrderedCollection"})
    peer.serve("/plain", "<html>hello</html>", "text/html")
    peer.serve("/broken", json.dumps([1, 2]), "application/activity+json")
    cases = [
        (f"{peer.base}/users/alice/statuses/2", "has no pictures"),
        (f"{peer.base}/users/alice/statuses/3", "author on another server"),
        (f"{peer.base}/users/alice/collections/x", "is a OrderedCollection"),
        (f"{peer.base}/plain", "could not be read"),
        (f"{peer.base}/broken", "could not be read"),
        (f"{peer.base}/missing", "Nothing was found"),
        (service.id, "server's own account"),
        (f"@nobody@{peer.host}", "Nothing was found"),
    ]
    for uri, says in cases:
        with pytest.raises(LookupFailed, match=says) as caught:
            await resolve_uri(fed, uri)
        assert not caught.value.bad_input, uri
    for bad in ("", "   ", "no handle", "https://", "http://exa mple.org/x"):
        with pytest.raises(LookupFailed) as caught:
            await resolve_uri(fed, bad)
        assert caught.value.bad_input, bad

    await instances.set_policy(fed, peer.host, "suspend")
    with pytest.raises(LookupFailed, match="does not federate with"):
        await resolve_uri(fed, f"@alice@{peer.host}")
    with pytest.raises(LookupFailed, match="does not federate with"):
        await resolve_uri(fed, alice.id)

    await instances.set_policy(fed, peer.host, "none")
    fed.config.federation.allow_private_addresses = False  # the production default: loopback is refused
    asked = len(peer.gets)
    with pytest.raises(LookupFailed, match="is not on a public server"):
        await resolve_uri(fed, f"{peer.base}/users/alice")
    assert len(peer.gets) == asked
