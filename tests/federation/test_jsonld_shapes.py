"""Compaction cached per document shape (federation.wire.jsonld_shapes) gives exactly what a fresh PyLD
compaction gives: for documents that share a shape, for values that change the shape (an @id where a
literal was, the public collection, terms, relative IRIs, blank nodes), for inline contexts that alias
keywords, and for hundreds of randomly varied documents. The fresh side calls PyLD directly."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from pyld import jsonld as pyld

from federation.wire import jsonld
from federation.wire.jsonld_shapes import ShapeCache

AS = jsonld.AS_CONTEXT


def fresh(doc: dict) -> dict:
    """What compact_activity computed before the cache: expand, compact, restore the public IRI."""
    options = {"documentLoader": jsonld.document_loader}
    expanded = pyld.expand(jsonld._with_activitystreams(copy.deepcopy(doc)), options)
    return jsonld._restore_public(pyld.compact(expanded, jsonld.COMPACT_CONTEXT, options))


@pytest.fixture
def cache() -> ShapeCache:
    return ShapeCache(jsonld.COMPACT_CONTEXT, jsonld.document_loader)


def cached(cache: ShapeCache, doc: dict) -> dict:
    return jsonld._restore_public(cache.compact(jsonld._with_activitystreams(copy.deepcopy(doc))))


def create(n: int, *, to: Any = None, obj: Any = None, context: Any = AS, **extra: Any) -> dict:
    actor = f"https://remote{n % 3}.example/users/u{n}"
    note = {"id": f"{actor}/notes/{n}", "type": "Note", "attributedTo": actor, "content": f"<p>post {n} &amp; more</p>",
            "published": f"2025-01-{n % 28 + 1:02d}T00:00:00Z", "to": to or [f"{actor}/followers"]}
    return {"@context": context, "id": f"{actor}/activities/{n}", "type": "Create", "actor": actor,
            "to": to or [f"{actor}/followers"], "object": note if obj is None else obj, **extra}


def test_documents_of_one_shape_are_compacted_once_and_each_gets_its_own_values(cache):
    docs = [create(n) for n in range(40)]
    results = [cached(cache, doc) for doc in docs]
    assert results == [fresh(doc) for doc in docs]
    assert cache.misses == 1 and cache.hits == 39
    assert results[7]["object"]["content"] == "<p>post 7 &amp; more</p>"
    assert results[7]["actor"] == "https://remote1.example/users/u7"


def test_a_value_that_changes_the_shape_is_not_served_another_shapes_template(cache):
    actor = "https://remote.example/users/u1"
    variants = [
        create(1, obj=f"{actor}/notes/9"),  # the object as an IRI ...
        create(1, obj={"id": f"{actor}/notes/9", "type": "Note"}),  # ... and as an embedded node
        create(1, to=[jsonld.AS_PUBLIC]),  # the public collection compacts to as:Public (restored)
        create(2, to=["as:Public"]), create(3, to=["Public"]),  # the other spellings of it
        create(4, to=[f"{actor}/followers"]),
        create(5, to=["relative/followers"]),  # a relative IRI (not opaque: kept in the shape)
        create(6, to=["_:b0"]),  # a blank node
        create(7, to=[f"{AS}#Note"]),  # an IRI under a mapped namespace: compacts to a term or as:Note
        create(8, url={"type": "Link", "href": f"{actor}/page"}),
        create(9, url=f"{actor}/page"),
        create(10, sensitive=True), create(11, sensitive=False), create(12, sensitive="true"),
    ]
    for doc in variants:
        assert cached(cache, doc) == fresh(doc), doc
    for doc in variants:  # the second time from the cache, still equal
        assert cached(cache, doc) == fresh(doc), doc
    assert cache.hits >= len(variants)


def test_an_inline_context_changes_literal_into_id_and_back(cache):
    actor = "https://remote.example/users/u1"
    as_id = [AS, {"summary": {"@id": "as:summary", "@type": "@id"}}]  # summary coerced to an @id
    as_text = [AS, {"summary": "as:summary"}]
    for n in range(3):
        for context in (as_id, as_text, AS):
            for summary in (f"{actor}/about", "plain words", "as:Public", jsonld.AS_PUBLIC):
                doc = create(n, context=context, summary=summary)
                assert cached(cache, doc) == fresh(doc), (context, summary)


def test_aliased_keywords_keep_their_values_in_the_shape(cache):
    context = [AS, {"kind": "@type", "ident": "@id", "lang": "@language", "body": "as:content"}]
    for kind in ("Note", "Article", "https://other.example/ns#Thing"):
        for lang in ("en", "fr"):
            doc = {"@context": context, "ident": "https://remote.example/a/1", "kind": "Create",
                   "actor": "https://remote.example/users/u", "object": {
                       "ident": "https://remote.example/n/1", "kind": kind, "lang": lang, "body": "bonjour"}}
            assert cached(cache, doc) == fresh(doc), (kind, lang)


def test_a_context_that_maps_the_placeholder_namespace_is_still_right(cache):
    context = [AS, {"ph": "https://cara-fed.invalid/shape/"}]
    for n in range(3):
        doc = create(n, context=context, to=["https://cara-fed.invalid/shape/0", f"https://r.example/{n}"])
        assert cached(cache, doc) == fresh(doc)


def test_a_result_can_be_changed_by_its_caller_without_touching_the_next_one(cache):
    first = cached(cache, create(1))
    first["object"]["to"].append("https://mutated.example/")
    first["@context"].append("mutated")
    second = cached(cache, create(1))
    assert second == fresh(create(1))


def test_unknown_contexts_and_bad_json_ld_still_raise():
    with pytest.raises(jsonld.UnknownContextError):
        jsonld.compact_activity(create(1, context=[AS, "https://unknown.example/ctx"]))
    with pytest.raises(jsonld.JsonLdError):
        jsonld.compact_activity(create(1, context=[AS, {"@version": 2}]))
    with pytest.raises(jsonld.UnknownContextError):  # not cached: raises again
        jsonld.compact_activity(create(1, context=[AS, "https://unknown.example/ctx"]))


VALUES = ["https://a.example/x", "https://b.example/users/y#main-key", jsonld.AS_PUBLIC, "as:Public", "Public",
          "relative", "_:b1", "text with spaces", "", "Note", f"{AS}#Note", "http://schema.org#value",
          "https://w3id.org/security#publicKey", "toot:Emoji", "mailto:someone@example.org"]


def _vary(node: Any, rng: random.Random) -> Any:
    if isinstance(node, dict):
        return {key: value if key in ("@context", "type") else _vary(value, rng) for key, value in node.items()}
    if isinstance(node, list):
        return [_vary(item, rng) for item in node]
    if isinstance(node, str):
        return rng.choice(VALUES) if rng.random() < 0.5 else f"https://h{rng.randrange(3)}.example/{rng.random()}"
    return node


def test_randomly_varied_documents_always_equal_a_fresh_compaction(cache):
    rng = random.Random(15)
    bases = [
        create(0),
        create(1, obj="https://x.example/o", cc=["https://x.example/c"], tag=[{"type": "Mention", "href": "h",
                                                                              "name": "@n"}]),
        {"@context": [AS, jsonld.SECURITY_CONTEXT], "id": "i", "type": "Person", "inbox": "i",
         "publicKey": {"id": "k", "owner": "o", "publicKeyPem": "p"}, "attachment": [
             {"type": "PropertyValue", "name": "n", "value": "v"}]},
        {"@context": AS, "id": "i", "type": "Like", "actor": "a", "object": "o"},
        {"@context": AS, "id": "i", "type": "Undo", "actor": "a",
         "object": {"id": "f", "type": "Follow", "actor": "a", "object": "b"}},
    ]
    checked = 0
    for _ in range(60):
        for base in bases:
            doc = _vary(base, rng)
            try:
                expected = fresh(doc)
            except pyld.JsonLdError:
                continue
            assert cached(cache, doc) == expected, doc
            checked += 1
    assert checked > 250 and cache.hits > 0
