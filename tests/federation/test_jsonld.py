"""Offline JSON-LD: shipped contexts only, clear refusal of anything else, stable compaction."""

from __future__ import annotations

import copy
import socket

import pytest
from pyld import jsonld

from federation.wire.jsonld import (
    AS_CONTEXT,
    AS_PUBLIC,
    JsonLdError,
    UnknownContextError,
    compact_activity,
    document_loader,
    install_for_bovine,
    load_contexts,
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("JSON-LD processing tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


MASTODON_CREATE = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        {
            "ostatus": "http://ostatus.org#",
            "atomUri": "ostatus:atomUri",
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "blurhash": "toot:blurhash",
            "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
            "Hashtag": "as:Hashtag",
        },
    ],
    "id": "https://masto.example/users/ann/statuses/1/activity",
    "type": "Create",
    "actor": "https://masto.example/users/ann",
    "published": "2024-05-01T12:00:00Z",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "cc": ["https://masto.example/users/ann/followers"],
    "object": {
        "id": "https://masto.example/users/ann/statuses/1",
        "type": "Note",
        "attributedTo": "https://masto.example/users/ann",
        "content": "<p>new piece <a href='https://masto.example/tags/art'>#art</a></p>",
        "sensitive": False,
        "atomUri": "https://masto.example/users/ann/statuses/1",
        "to": "https://www.w3.org/ns/activitystreams#Public",
        "attachment": {
            "type": "Document",
            "mediaType": "image/png",
            "url": "https://masto.example/media/1.png",
            "name": "a fox in the snow",
            "blurhash": "UBL_:rOpGG-o",
            "focalPoint": [0.0, 0.25],
            "width": 1200,
            "height": 800,
        },
        "tag": [{"type": "Hashtag", "href": "https://masto.example/tags/art", "name": "#art"}],
    },
}

MASTODON_ACTOR = {
    "@context": [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
        },
    ],
    "id": "https://masto.example/users/ann",
    "type": "Person",
    "preferredUsername": "ann",
    "inbox": "https://masto.example/users/ann/inbox",
    "manuallyApprovesFollowers": False,
    "discoverable": True,
    "attachment": [{"type": "PropertyValue", "name": "Site", "value": "<a href='https://ann.example'>ann</a>"}],
    "publicKey": {
        "id": "https://masto.example/users/ann#main-key",
        "owner": "https://masto.example/users/ann",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n...",
    },
}


def test_load_contexts_is_the_shipped_set_and_cached():
    contexts = load_contexts()
    assert load_contexts() is contexts
    for url in (AS_CONTEXT, "https://w3id.org/security/v1", "http://joinmastodon.org/ns", "https://gotosocial.org/ns"):
        assert "@context" in contexts[url]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/activitystreams",
        "https://www.w3.org/ns/activitystreams#",
        "https://www.w3.org/ns/activitystreams.jsonld",
        "https://schema.org",
        "http://schema.org/",
        "https://joinmastodon.org/ns",
        "https://w3id.org/security/v1",
    ],
)
def test_document_loader_serves_shipped_variants(url):
    result = document_loader(url)
    assert result["documentUrl"] == url
    assert "@context" in result["document"]


def test_document_loader_returns_copies():
    document_loader(AS_CONTEXT)["document"]["@context"]["id"] = "tampered"
    assert document_loader(AS_CONTEXT)["document"]["@context"]["id"] == "@id"


@pytest.mark.parametrize(
    "url", ["https://evil.example/context.jsonld", "https://pl.example/schemas/litepub-0.1.jsonld"]
)
def test_document_loader_refuses_unknown_contexts(url):
    with pytest.raises(UnknownContextError) as exc:
        document_loader(url, {})
    assert exc.value.url == url
    assert "not shipped" in str(exc.value) and "not fetched" in str(exc.value)


def test_compact_mastodon_create_note():
    original = copy.deepcopy(MASTODON_CREATE)
    out = compact_activity(MASTODON_CREATE)
    assert MASTODON_CREATE == original  # input untouched
    assert out["type"] == "Create" and out["actor"] == "https://masto.example/users/ann"
    assert out["to"] == [AS_PUBLIC]  # never "as:Public", always a list
    assert out["cc"] == ["https://masto.example/users/ann/followers"]
    note = out["object"]
    assert note["type"] == "Note" and note["sensitive"] is False
    assert note["to"] == [AS_PUBLIC]
    assert note["tag"] == [{"type": "Hashtag", "href": "https://masto.example/tags/art", "name": "#art"}]
    (image,) = note["attachment"]
    assert image["blurhash"] == "UBL_:rOpGG-o" and image["focalPoint"] == [0.0, 0.25]
    assert image["width"] == 1200 and image["name"] == "a fox in the snow"
    assert note["http://ostatus.org#atomUri"] == "https://masto.example/users/ann/statuses/1"  # not ours: full IRI


def test_compact_actor_with_security_and_property_values():
    out = compact_activity(MASTODON_ACTOR)
    assert out["publicKey"] == MASTODON_ACTOR["publicKey"]
    assert out["manuallyApprovesFollowers"] is False and out["discoverable"] is True
    assert out["attachment"] == [
        {"type": "PropertyValue", "name": "Site", "value": MASTODON_ACTOR["attachment"][0]["value"]}
    ]


def test_compact_renames_terms_to_ours_and_keeps_our_namespace():
    doc = {
        "@context": [AS_CONTEXT, {"nsfw": "as:sensitive", "c": "https://w3id.org/cara-fed/ns#"}],
        "type": "Note",
        "id": "https://x.example/n/1",
        "nsfw": True,
        "c:noAi": True,
        "cc": "as:Public",
    }
    out = compact_activity(doc)
    assert out["sensitive"] is True
    assert out["cara:noAi"] is True
    assert out["cc"] == [AS_PUBLIC]


def test_missing_context_means_activitystreams():
    out = compact_activity(
        {
            "type": "Follow",
            "id": "https://a.example/f/1",
            "actor": "https://a.example/u",
            "object": "https://b.example/u",
        }
    )
    assert out["type"] == "Follow" and out["object"] == "https://b.example/u"


def test_compact_refuses_unknown_context():
    doc = {**MASTODON_CREATE, "@context": [AS_CONTEXT, "https://pl.example/schemas/litepub-0.1.jsonld"]}
    with pytest.raises(UnknownContextError) as exc:
        compact_activity(doc)
    assert exc.value.url == "https://pl.example/schemas/litepub-0.1.jsonld"


def test_compact_refuses_broken_json_ld():
    with pytest.raises(JsonLdError):
        compact_activity({"@context": 5, "type": "Note"})


def test_install_for_bovine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # importing bovine.jsonld creates its cache file in the working directory
    previous = jsonld._default_document_loader
    try:
        install_for_bovine()
        import bovine.jsonld

        compacted = bovine.jsonld.with_activitystreams_context(MASTODON_CREATE)
        assert compacted["object"]["type"] == "Note"
        assert bovine.jsonld.with_bovine_context(MASTODON_ACTOR)["publicKey"]["publicKeyPem"].startswith("-----")
        with pytest.raises(jsonld.JsonLdError):
            bovine.jsonld.with_activitystreams_context({"@context": "https://unknown.example/ctx", "type": "Note"})
    finally:
        jsonld.set_document_loader(previous)
