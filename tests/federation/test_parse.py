"""ActivityStreams -> our dataclasses: Mastodon, Pixelfed-ish and our own shapes, read liberally."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation.wire import parse, parse_actors, parse_artworks, parse_values

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
MASTODON_CONTEXT = [AS, {
    "ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri", "sensitive": "as:sensitive",
    "toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}, "Hashtag": "as:Hashtag"}]
# What federation/wire/serialize.py sends (our own namespace, FEP-5e53).
CARA_CONTEXT = [AS, "https://w3id.org/security/v1", {
    "toot": "http://joinmastodon.org/ns#", "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}, "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag", "cara": "https://w3id.org/cara-fed/ns#", "cara:license": {"@type": "@id"},
    "xRobotsTag": "https://w3id.org/fep/5e53#xRobotsTag"}]


def create(note: dict, context=MASTODON_CONTEXT, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"@context": context, "id": "https://masto.example/users/ann/statuses/1/activity", "type": "Create",
            "actor": "https://masto.example/users/ann", "object": note, **extra}


def note(**fields) -> dict:  # type: ignore[no-untyped-def]
    return {"id": "https://masto.example/users/ann/statuses/1", "type": "Note",
            "attributedTo": "https://masto.example/users/ann", "to": [PUBLIC],
            "cc": ["https://masto.example/users/ann/followers"], "content": "<p>Night market</p>", **fields}


def read(doc: dict) -> tuple[parse.Activity, parse_artworks.RemoteArtwork]:
    act = parse.activity(parse.normalize(doc))
    assert isinstance(act.object, dict)
    return act, parse_artworks.artwork(act.object, act)


def test_mastodon_create_with_attachments_in_every_shape():
    act, art = read(create(note(
        published="2024-05-01T12:00:00Z", sensitive=False,
        tag=[{"type": "Hashtag", "name": "#ConceptArt", "href": "https://masto.example/tags/conceptart"},
             {"type": "Mention", "name": "@bob", "href": "https://b.example/users/bob"}],
        url="https://masto.example/@ann/1",
        attachment=[
            {"type": "Document", "mediaType": "image/jpeg", "url": "https://files.example/1.jpg",
             "name": "A lantern-lit street", "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH", "width": 1200,
             "height": 800, "focalPoint": [0.25, -0.5]},
            {"type": "Image", "summary": "Close-up of a vendor",
             "url": [{"type": "Link", "href": "https://files.example/2.html", "mediaType": "text/html"},
                     {"type": "Link", "href": "https://files.example/2.png", "mediaType": "image/png"}]},
            {"type": "Document", "mediaType": "video/mp4", "url": "https://files.example/3.mp4"},
            {"type": "Link", "href": "https://files.example/4.webp", "mediaType": "image/webp", "name": "four"},
        ])))
    assert (act.type, act.actor) == ("Create", "https://masto.example/users/ann")
    assert art.uri == "https://masto.example/users/ann/statuses/1"
    assert art.attributed_to == "https://masto.example/users/ann"
    assert art.title == "Night market"  # no name: the first line of the text
    assert art.url == "https://masto.example/@ann/1"
    assert art.tags == ["ConceptArt"]
    assert art.published == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert art.visibility == "public" and art.noai is False and art.license == "all-rights-reserved"
    assert [(i.url, i.alt_text, i.media_type) for i in art.images] == [
        ("https://files.example/1.jpg", "A lantern-lit street", "image/jpeg"),
        ("https://files.example/2.png", "Close-up of a vendor", "image/png"),
        ("https://files.example/4.webp", "four", "image/webp")]  # the video is skipped
    first = art.images[0]
    assert (first.width, first.height, first.focal_point) == (1200, 800, (0.25, -0.5))
    assert first.blurhash.startswith("UBL_")


def test_our_own_namespace_license_noai_and_title():
    _, art = read(create(note(
        name="Harbour at dusk", content="<p>Harbour at dusk</p><p>gouache</p>",
        **{"cara:license": "https://creativecommons.org/licenses/by-nc/4.0/", "cara:noAI": True},
        attachment=[{"type": "Image", "mediaType": "image/png", "url": "https://files.example/h.png",
                     "name": "alt", "summary": "alt"}]), context=CARA_CONTEXT))
    assert art.title == "Harbour at dusk"
    assert art.license == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert art.noai is True


@pytest.mark.parametrize("robots, expected", [("noai, noimageai", True), (["noimageai"], True), ("all", False)])
def test_fep_5e53_xrobotstag(robots, expected):
    _, art = read(create(note(xRobotsTag=robots), context=CARA_CONTEXT))
    assert art.noai is expected


def test_xrobotstag_left_undefined_by_the_sender_still_counts():
    _, art = read(create(note(xRobotsTag="noai"), context=AS))
    assert art.noai is True


@pytest.mark.parametrize("to, cc, expected", [
    ([PUBLIC], [], "public"), ([], [PUBLIC], "unlisted"), (["https://masto.example/users/ann/followers"], [],
                                                           "followers")])
def test_visibility_from_addressing(to, cc, expected):
    _, art = read(create(note(to=to, cc=cc)))
    assert art.visibility == expected


def test_visibility_falls_back_to_the_activity_and_as_public_shorthand():
    bare = note()
    del bare["to"], bare["cc"]
    _, art = read(create(bare, cc=["as:Public"]))
    assert art.visibility == "unlisted"


def test_remote_html_is_sanitized_and_titles_are_text():
    _, art = read(create(note(content='<p>Hi &amp; <b>bold</b><script>alert(1)</script></p>'
                                      '<img src=x onerror=alert(1)><a href="javascript:x">x</a>')))
    assert "<script" not in art.content_html and "onerror" not in art.content_html
    assert "javascript:" not in art.content_html
    assert art.title == "Hi & bold"


def test_long_first_line_is_cut_at_a_word():
    _, art = read(create(note(content="<p>" + "word " * 60 + "</p>")))
    assert len(art.title) <= parse_values.TITLE_MAX and art.title.endswith("…") and "wor…" not in art.title


def test_content_warning_and_sensitive():
    _, art = read(create(note(summary="eye strain", sensitive=True)))
    assert art.content_warning == "eye strain" and art.sensitive is True


def test_content_map_when_there_is_no_content():
    bare = note(contentMap={"en": "<p>Only a map</p>"})
    del bare["content"]
    _, art = read(create(bare))
    assert art.title == "Only a map"


def test_unknown_remote_context_is_refused():
    doc = create(note(), context=[AS, "https://evil.example/context.jsonld"])
    with pytest.raises(parse.ParseError, match="unsupported JSON-LD context"):
        parse.check_contexts(doc)
    with pytest.raises(parse.ParseError, match="unsupported JSON-LD context"):
        parse.normalize(doc)
    parse.check_contexts(create(note()))  # shipped contexts pass


def test_activity_envelope_requires_id_type_actor():
    with pytest.raises(parse.ParseError):
        parse.activity(parse.normalize({"@context": AS, "type": "Follow", "actor": "https://a.example/u"}))
    act = parse.activity(parse.normalize({"@context": AS, "id": "https://a.example/1", "type": "Follow",
                                          "actor": {"id": "https://a.example/u", "type": "Person"},
                                          "object": "https://b.example/users/x"}))
    assert (act.actor, act.object_id, act.object_type) == ("https://a.example/u", "https://b.example/users/x", None)


def test_actor_document():
    doc = {"@context": [AS, "https://w3id.org/security/v1", {"schema": "http://schema.org#",
                                                              "PropertyValue": "schema:PropertyValue",
                                                              "value": "schema:value",
                                                              "toot": "http://joinmastodon.org/ns#",
                                                              "discoverable": "toot:discoverable"}],
           "id": "https://masto.example/users/ann", "type": "Person", "preferredUsername": "Ann",
           "name": "Ann <b>Lee</b>", "summary": "<p>Painter<script>x</script></p>",
           "inbox": "https://masto.example/users/ann/inbox", "followers": "https://masto.example/users/ann/followers",
           "endpoints": {"sharedInbox": "https://masto.example/inbox"}, "url": "https://masto.example/@ann",
           "icon": {"type": "Image", "url": "https://files.example/avatar.png"},
           "image": {"type": "Image", "url": "https://files.example/banner.png"},
           "manuallyApprovesFollowers": True, "discoverable": False,
           "attachment": [{"type": "PropertyValue", "name": "Site",
                           "value": '<a href="https://ann.example/" rel="me">ann.example</a>'},
                          {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"}],
           "publicKey": {"id": "https://masto.example/users/ann#main-key", "owner": "https://masto.example/users/ann",
                         "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n"}}
    actor = parse_actors.actor(parse.normalize(doc))
    assert (actor.username, actor.domain, actor.display_name) == ("Ann", "masto.example", "Ann Lee")
    assert actor.inbox == "https://masto.example/users/ann/inbox"
    assert actor.shared_inbox == "https://masto.example/inbox"
    assert actor.key_id == "https://masto.example/users/ann#main-key"
    assert actor.avatar_url == "https://files.example/avatar.png"
    assert actor.banner_url == "https://files.example/banner.png"
    assert actor.locked is True and actor.discoverable is False
    assert "<script" not in actor.summary_html
    assert actor.links == [{"name": "Site", "url": "https://ann.example/"}]


def test_actor_whose_key_names_another_owner_is_refused():
    doc = {"@context": [AS, "https://w3id.org/security/v1"], "id": "https://a.example/u", "type": "Person",
           "inbox": "https://a.example/u/inbox",
           "publicKey": {"id": "https://b.example/v#k", "owner": "https://b.example/v", "publicKeyPem": "PEM"}}
    with pytest.raises(parse.ParseError, match="another owner"):
        parse_actors.actor(parse.normalize(doc))


def test_not_an_artwork():
    with pytest.raises(parse.ParseError):
        parse_artworks.artwork({"id": "https://a.example/q", "type": "Question"})


def test_overlong_and_non_web_iris_are_not_stored():
    """A Note id or image URL we could not store (PostgreSQL columns are 2048) or fetch (data:) is refused."""
    import pytest as _pytest

    from federation.wire import parse, parse_artworks

    base = {"type": "Note", "attributedTo": "https://a.example/u", "content": "x"}
    with _pytest.raises(parse.ParseError, match="http"):
        parse_artworks.artwork({**base, "id": "https://a.example/" + "x" * 3000})
    inline = {"type": "Image", "mediaType": "image/png", "url": "data:image/png;base64,AAAA"}
    hosted = {"type": "Image", "mediaType": "image/png", "url": "https://a.example/i.png"}
    note = parse_artworks.artwork({**base, "id": "https://a.example/n/1", "url": "https://a.example/" + "y" * 3000,
                                   "attachment": [inline, hosted]})
    assert note.url is None
    assert [i.url for i in note.images] == ["https://a.example/i.png"]
