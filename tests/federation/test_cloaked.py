"""cara:cloaked in our Note and back: what a cache needs to know to keep a cloak intact."""

from __future__ import annotations

from federation.wire.parse_artworks import artwork

BASE = {"id": "https://a.example/@ada/1", "type": "Note", "attributedTo": "https://a.example/users/ada",
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "content": "<p>x</p>",
        "@context": ["https://www.w3.org/ns/activitystreams", {"cara": "https://w3id.org/cara-fed/ns#"}]}


def test_cloaked_claim_is_read_compacted_expanded_or_as_a_flag():
    note = {**BASE, "cara:cloaked": {"cara:engine": "adversarial", "cara:version": "1"}}
    assert artwork(note).cloaked == {"engine": "adversarial", "version": "1"}
    expanded = {**BASE, "https://w3id.org/cara-fed/ns#cloaked": {"https://w3id.org/cara-fed/ns#engine": "glaze"}}
    assert artwork(expanded).cloaked == {"engine": "glaze", "version": ""}
    assert artwork({**BASE, "cara:cloaked": True}).cloaked == {"engine": "unknown", "version": ""}
    assert artwork(BASE).cloaked is None
    assert artwork({**BASE, "cara:cloaked": "yes please"}).cloaked is None
