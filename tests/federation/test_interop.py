"""Interop with what peers actually read (issue 16, items 1-6): dereferenceable comments and replies
collections, a walk over every id we publish, the "+N more images" line for Mastodon, Pixelfed's
commentsEnabled and licence shapes, and author attribution (fediverse:creator + attributionDomains).

Serializer checks on in-memory models; HTTP checks on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag

from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, Artwork, ArtworkImage
from cara_fed.services import comments
from cara_fed.services.remote import comment_policy_from
from federation.wire import jsonld, parse, parse_artworks, serialize_actors, serialize_artworks
from tests import images
from tests.conftest import sign_up
from tests.federation.test_documents import AP, BASE, BROWSER, LD, _artwork, ap_get, fake_ctx, path_of, publish
from tests.web.test_artworks import upload

__all__ = ["fake_ctx"]  # a fixture, used by name below

CC_BY = "https://creativecommons.org/licenses/by/4.0/"


# --- the serializer ----------------------------------------------------------------------------------


def _with_images(count: int) -> Artwork:
    work = _artwork()
    image = work.images[0]
    work.images = [ArtworkImage(position=i, alt_text=f"Panel {i}", asset=image.asset) for i in range(count)]
    return work


def test_more_than_four_images_say_so_in_content(fake_ctx):
    four = serialize_artworks.note_for_artwork(fake_ctx, _with_images(4))
    assert "more image" not in four["content"]
    seven = serialize_artworks.note_for_artwork(fake_ctx, _with_images(7))
    assert len(seven["attachment"]) == 7  # all are sent; Mastodon shows the first four
    assert seven["content"].endswith(f'<p><a href="{BASE}/@ada/7">+3 more images — view the full work</a></p>')
    five = serialize_artworks.note_for_artwork(fake_ctx, _with_images(5))
    assert five["content"].endswith("+1 more image — view the full work</a></p>")


def test_licence_and_comments_where_pixelfed_reads_them(fake_ctx):
    note = serialize_artworks.note_for_artwork(fake_ctx, _artwork(license=CC_BY))
    assert note["license"] == note["cara:license"] == CC_BY
    assert [a["license"] for a in note["attachment"]] == [CC_BY]
    assert note["commentsEnabled"] is True
    assert note["replies"] == {"id": f"{BASE}/@ada/7/replies", "type": "Collection",
                               "first": f"{BASE}/@ada/7/replies?page=true"}
    closed = serialize_artworks.note_for_artwork(fake_ctx, _artwork(comment_policy="off"))
    assert closed["commentsEnabled"] is False and "license" not in closed  # all rights reserved: no IRI
    assert all("license" not in a for a in closed["attachment"])
    # Both expand to the IRIs Pixelfed (and FEP-6757) use.
    expanded = jsonld.jsonld.expand(note, {"documentLoader": jsonld.document_loader})[0]
    assert expanded["http://purl.org/dc/terms/license"] == [{"@id": CC_BY}]
    assert expanded["http://pixelfed.org/ns#commentsEnabled"] == [{"@value": True}]
    attachment = expanded["https://www.w3.org/ns/activitystreams#attachment"][0]
    assert attachment["http://purl.org/dc/terms/license"] == [{"@id": CC_BY}]


def test_actor_names_its_attribution_domain(fake_ctx):
    actor = serialize_actors.actor_document(fake_ctx, _artwork().account)
    assert actor["attributionDomains"] == ["test.example"]
    expanded = jsonld.jsonld.expand(actor, {"documentLoader": jsonld.document_loader})[0]
    assert expanded["http://joinmastodon.org/ns#attributionDomains"] == [{"@id": "test.example"}]


def test_hashtags_in_descriptions_and_bios_are_linked_and_tagged(fake_ctx):
    work = _artwork(description_html="<p>Harbour study #NightSky, see <code>#notatag</code> it&#39;s #ink</p>")
    note = serialize_artworks.note_for_artwork(fake_ctx, work)
    link = f'<a href="{BASE}/tags/nightsky" class="mention hashtag" rel="tag">#<span>NightSky</span></a>'
    assert link in note["content"] and "<code>#notatag</code>" in note["content"] and "&#39;" in note["content"]
    assert [t["name"] for t in note["tag"]] == ["#ink", "#nightsky"]  # the work's tags, then new ones
    assert all(t["type"] == "Hashtag" and t["href"] == f"{BASE}/tags/{t['name'][1:]}" for t in note["tag"])
    account = work.account
    account.bio_html = '<p>Ink and #Watercolour. <a href="https://x.example/#top">#top</a></p>'
    actor = serialize_actors.actor_document(fake_ctx, account)
    assert f'<a href="{BASE}/tags/watercolour" class="mention hashtag" rel="tag">' in actor["summary"]
    assert actor["tag"] == [{"type": "Hashtag", "href": f"{BASE}/tags/watercolour", "name": "#watercolour"}]
    remote = _artwork(description_html="<p>#theirs</p>", uri="https://else.example/n/1")
    remote.account.domain = "else.example"
    note = serialize_artworks.note_for_artwork(fake_ctx, remote)
    assert note["content"].endswith("<p>#theirs</p>")  # as they wrote it


# --- reading Pixelfed ---------------------------------------------------------------------------------


def _pixelfed_note(**extra: object) -> dict:
    """A Note in Pixelfed's shape (app/Transformer/ActivityPub/Verb/Note.php: its own context terms)."""
    return {
        "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams", {
            "Hashtag": "as:Hashtag", "sensitive": "as:sensitive", "schema": "http://schema.org/",
            "pixelfed": "http://pixelfed.org/ns#",
            "commentsEnabled": {"@id": "pixelfed:commentsEnabled", "@type": "schema:Boolean"},
            "license": {"@id": "http://purl.org/dc/terms/license", "@type": "@id"},
            "toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash"}],
        "id": "https://pixel.example/p/rosa/1", "type": "Note", "content": "<p>Dunes</p>",
        "attributedTo": "https://pixel.example/users/rosa", "published": "2024-05-01T12:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": ["https://pixel.example/users/rosa/followers"],
        "attachment": [{"type": "Image", "mediaType": "image/jpeg", "url": "https://pixel.example/m/1.jpg",
                        "name": "Sand", "license": CC_BY}],
        **extra,
    }


def test_pixelfed_comments_off_and_licence_are_honoured():
    rosa = Account(username="rosa", domain="pixel.example", followers_url="https://pixel.example/users/rosa/followers")
    closed = parse_artworks.artwork(parse.normalize(_pixelfed_note(commentsEnabled=False, license=CC_BY)))
    assert comment_policy_from(closed.can_reply, rosa) == "off"
    assert closed.license == CC_BY
    open_ = parse_artworks.artwork(parse.normalize(_pixelfed_note(commentsEnabled=True)))
    assert comment_policy_from(open_.can_reply, rosa) == "everyone"
    assert open_.license == "all-rights-reserved"
    # Older Pixelfed mapped the term to schema:Boolean itself; the switch is still read.
    old = _pixelfed_note(commentsEnabled=False)
    old["@context"] = ["https://www.w3.org/ns/activitystreams", {"sc": "http://schema.org#",
                                                                 "commentsEnabled": "sc:Boolean"}]
    assert comment_policy_from(parse_artworks.artwork(parse.normalize(old)).can_reply, rosa) == "off"
    # interactionPolicy, when a post states one, wins over commentsEnabled.
    both = _pixelfed_note(commentsEnabled=False)
    both["@context"].append("https://gotosocial.org/ns")
    both["interactionPolicy"] = {"canReply": {"always": ["https://www.w3.org/ns/activitystreams#Public"]}}
    assert comment_policy_from(parse_artworks.artwork(parse.normalize(both)).can_reply, rosa) == "everyone"


# --- over HTTP -----------------------------------------------------------------------------------------


async def _ada(client) -> Account:  # type: ignore[no-untyped-def]

    async with client.app[CONTEXT_KEY].sessions() as session:
        return await session.scalar(select(Account).where(Account.username == "ada"))


async def _thread(client):  # type: ignore[no-untyped-def]
    """ada publishes a work and comments on it; a reply under the comment. Returns (path, comment, reply)."""

    await sign_up(client, "ada")
    path = await publish(client)
    ctx, ada = client.app[CONTEXT_KEY], await _ada(client)
    work_id = int(path.rsplit("/", 1)[1])
    first = await comments.post(ctx, ada, work_id, "First light #dawn")
    reply = await comments.post(ctx, ada, work_id, "And the second", first.id)
    return path, first, reply


async def test_comment_ids_serve_notes_and_replies_collections(client):
    path, first, reply = await _thread(client)
    for accept in (AP, LD):
        _, note = await ap_get(client, first.uri, accept=accept)
        assert note["id"] == first.uri and note["type"] == "Note" and note["inReplyTo"] == BASE + path
        assert note["attributedTo"] == f"{BASE}/users/ada" and "First light" in note["content"]
    _, answer = await ap_get(client, reply.uri)
    assert answer["inReplyTo"] == first.uri
    html = await client.get(path_of(first.uri), headers={"Accept": BROWSER}, allow_redirects=False)
    assert html.status == 303 and html.headers["Location"].endswith(f"#comment-{first.id}")

    # The artwork's replies: the direct reply only; the comment's: its reply (Mastodon's paged shape).
    _, work = await ap_get(client, path)
    _, replies = await ap_get(client, work["replies"]["id"])
    assert replies["type"] == "Collection" and replies["totalItems"] == 1
    _, page = await ap_get(client, replies["first"])
    assert page["type"] == "CollectionPage" and page["partOf"] == replies["id"] and page["items"] == [first.uri]
    _, nested = await ap_get(client, note["replies"]["id"])
    _, nested_page = await ap_get(client, nested["first"])
    assert nested["id"] == first.uri + "/replies" and nested["totalItems"] == 1
    assert nested_page["items"] == [reply.uri] and "next" not in nested_page


async def test_replies_pages_follow_next(client):

    path, first, _ = await _thread(client)
    ctx, ada = client.app[CONTEXT_KEY], await _ada(client)
    work_id = int(path.rsplit("/", 1)[1])
    more = [await comments.post(ctx, ada, work_id, f"Note {i}") for i in range(21)]
    seen, url = [], f"{BASE}{path}/replies?page=true"
    while url:
        _, page = await ap_get(client, url)
        seen += page["items"]
        url = page.get("next")
    assert seen == [first.uri, *(c.uri for c in more)]  # 22 over two pages, oldest first, none twice


async def test_hidden_comments_and_works_are_not_served(client):

    path, first, reply = await _thread(client)
    ctx, ada = client.app[CONTEXT_KEY], await _ada(client)
    await comments.delete(ctx, ada, reply.id)
    await ap_get(client, reply.uri, status=404)
    await ap_get(client, reply.uri + "/replies", status=404)
    await ap_get(client, "/comments/1-00000000", status=404)  # an id with the wrong token
    await ap_get(client, "/@ada/999999/replies", status=404)
    followers_only = await publish(client, visibility="followers")
    hidden = await comments.post(ctx, ada, int(followers_only.rsplit("/", 1)[1]), "Only for followers")
    await ap_get(client, hidden.uri, status=404)
    await ap_get(client, followers_only + "/replies", status=404)

    # A suspended commenter's words leave the replies collection with their Notes.
    await sign_up(client, "bea")
    async with ctx.sessions() as session:
        bea = await session.scalar(select(Account).where(Account.username == "bea"))
    said = await comments.post(ctx, bea, int(path.rsplit("/", 1)[1]), "Lovely")
    _, page = await ap_get(client, path + "/replies?page=true")
    assert page["items"] == [first.uri, said.uri]
    async with ctx.transaction() as tx:
        (await tx.session.get(Account, bea.id)).status = "suspended"
    await ap_get(client, said.uri, status=404)
    _, page = await ap_get(client, path + "/replies?page=true")
    _, collection = await ap_get(client, path + "/replies")
    assert page["items"] == [first.uri] and collection["totalItems"] == 1


async def test_every_id_we_publish_dereferences(client):
    """Conformance walk: from the actor, every collection, page, item and nested id answers 200 with the
    ActivityStreams type and an `id` equal to the URL fetched (fragment ids: their document)."""

    path, first, reply = await _thread(client)
    response = await upload(client, [(f"{i}.jpg", images.jpeg(64, 64), f"Panel {i}") for i in range(6)])
    assert response.status == 303, await response.text()
    await comments.set_policy(client.app[CONTEXT_KEY], await _ada(client),
                              int(response.headers["Location"].rsplit("/", 1)[1]),
                              "off")
    from cara_fed.services.projects import save_project

    await save_project(client.app[CONTEXT_KEY], await _ada(client), "Harbours", "Night studies",
                       [int(path.rsplit("/", 1)[1])])
    pending, seen, notes = [f"{BASE}/users/ada"], set(), []
    while pending:
        url = pending.pop()
        base, _ = urldefrag(url)
        if base in seen:
            continue
        seen.add(base)
        _, doc = await ap_get(client, base)
        assert doc["id"] == base, base
        if doc.get("type") == "Note":
            notes.append(doc)
        for key in ("outbox", "followers", "following", "featured", "first", "next", "replies", "cara:project"):
            value = doc.get(key)
            value = value.get("id") if isinstance(value, dict) else value
            if isinstance(value, str):
                pending.append(value)
        if isinstance(doc.get("replies"), dict):
            pending.append(doc["replies"]["first"])
        pending += [key["id"] for key in [doc.get("publicKey") or {}] if key.get("id")]
        for item in [*doc.get("orderedItems", []), *doc.get("items", [])]:
            pending.append(item if isinstance(item, str) else item["id"])
            if isinstance(item, dict) and isinstance(item.get("object"), dict):
                pending.append(item["object"]["id"])
    # The ids people may meet too (artworks, comments, projects, the actor) answer browsers with HTML.
    shared = [u for u in seen if re.search(r"/(@ada/\d+|@ada/projects/\d+|comments/[\w-]+|users/ada)$", u)]
    assert any("/projects/" in u for u in shared) and any("/comments/" in u for u in shared)
    for url in shared:
        page = await client.get(path_of(url), headers={"Accept": BROWSER})  # redirects followed
        assert page.status == 200 and page.content_type == "text/html", url
    note_ids = {n["id"] for n in notes}
    assert {BASE + path, first.uri, reply.uri} <= note_ids  # the thread was reached from the outbox
    many = next(n for n in notes if len(n.get("attachment", [])) == 6)
    assert many["commentsEnabled"] is False and "+2 more images" in many["content"]
    assert all(re.match(re.escape(BASE), s) for s in seen)


async def test_pages_name_their_creator(client):
    path, _, _ = await _thread(client)
    for page in (path, "/@ada"):
        html = await (await client.get(page, headers={"Accept": BROWSER})).text()
        assert '<meta name="fediverse:creator" content="@ada@test.example">' in html, page
    html = await (await client.get(await publish(client, description="Dawn over the #Harbour"))).text()
    assert '<a href="/tags/harbour" class="mention hashtag" rel="tag">#<span>Harbour</span></a>' in html


async def test_only_content_edits_make_a_work_edited(client):
    """Pinning, the comment setting and review touch updated_at; only the artist's edits send `updated`."""
    from datetime import timedelta

    from cara_fed.db import utcnow
    from cara_fed.services import artworks

    await sign_up(client, "ada")
    path = await publish(client, tags="ink")
    ctx, ada, work_id = client.app[CONTEXT_KEY], await _ada(client), int(path.rsplit("/", 1)[1])
    async with ctx.transaction() as tx:  # published an hour ago, so no edit falls in the publishing grace
        work = await tx.session.get(Artwork, work_id)
        work.published_at = utcnow() - timedelta(hours=1)
    await artworks.set_pinned(ctx, ada, work_id, True)
    await comments.set_policy(ctx, ada, work_id, "followers")
    _, note = await ap_get(client, path)
    assert "updated" not in note and note["interactionPolicy"]["canReply"]["always"][0].endswith("/followers")
    async with ctx.sessions() as session:
        work = await session.get(Artwork, work_id)
        assert work.edited_at is None and work.updated_at > work.published_at  # touched, not edited
    same = artworks.ArtworkInput(title=work.title, description=work.description, tags=work.tag_names,
                                 license=work.license, visibility=work.visibility, noai=work.noai)
    await artworks.update_artwork(ctx, ada, work_id, same)  # saving the form unchanged is no edit either
    _, note = await ap_get(client, path)
    assert "updated" not in note
    await artworks.update_artwork(ctx, ada, work_id, artworks.ArtworkInput(**{**same.__dict__, "title": "Heron II"}))
    _, note = await ap_get(client, path)
    assert note["name"] == "Heron II" and note["updated"] > note["published"]


async def test_outbox_lists_works_and_comments_newest_first(client, monkeypatch):
    from federation.outbound import documents

    monkeypatch.setattr(documents, "OUTBOX_PAGE", 2)
    await sign_up(client, "ada")
    ctx, ada = client.app[CONTEXT_KEY], await _ada(client)
    first_work = await publish(client, title="One")
    said_first = await comments.post(ctx, ada, int(first_work.rsplit("/", 1)[1]), "Notes on one")
    hidden_work = await publish(client, title="Hidden", visibility="followers")
    await comments.post(ctx, ada, int(hidden_work.rsplit("/", 1)[1]), "Not for everyone")
    second_work = await publish(client, title="Two")
    said_second = await comments.post(ctx, ada, int(first_work.rsplit("/", 1)[1]), "More", said_first.id)

    _, outbox = await ap_get(client, "/users/ada/outbox")
    assert outbox["totalItems"] == 4  # two works, two comments; nothing on the followers-only work
    seen, url = [], outbox["first"]
    while url:
        _, page = await ap_get(client, url)
        assert len(page["orderedItems"]) <= 2
        for create in page["orderedItems"]:
            assert create["type"] == "Create" and create["id"] == create["object"]["id"] + "#create"
            seen.append(create["object"]["id"])
        url = page.get("next")
    assert seen == [said_second.uri, BASE + second_work, said_first.uri, BASE + first_work]
    _, page = await ap_get(client, outbox["first"])
    reply = page["orderedItems"][0]["object"]
    assert reply["inReplyTo"] == said_first.uri and reply["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    await ap_get(client, "/users/ada/outbox?page=true&max_id=x'1", status=200)  # a bad cursor: the first page
