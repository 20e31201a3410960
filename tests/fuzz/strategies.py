"""Hypothesis strategies for hostile input: numbers that are not quite numbers, NUL bytes, huge values, markup,
and JSON documents (ActivityStreams-shaped or not, sometimes nested very deep)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

NASTY = ["", "0", "1", "2", "-1", "²", "٣", "①", "𝟗", "1.5", "1e400", "inf", "NaN", str(2**31), str(2**31 - 1),
         str(2**63), str(2**64), "9" * 40, "\x00", "a\x00b", "%00", "true", "on", "[]", "{}", "null", "ada", "bob",
         "@ada", "ada@example.org", "alice@127.0.0.1", "../../etc/passwd", "'", '"', "<script>alert(1)</script>",
         "javascript:alert(1)", "//evil.example/", "\r\nX-Injected: 1", "a" * 5000, " ", "💥", "\u202e", "public",
         "newest", "all", "http://127.0.0.1:1/", "https://example.org/x"]
# Hypothesis' text() already leaves out lone surrogates, which cannot travel in a URL or a form anyway.
value = st.one_of(st.sampled_from(NASTY), st.text(max_size=30), st.integers(min_value=-(2**70),
                                                                              max_value=2**70).map(str))
path_value = st.one_of(st.sampled_from(["1", "2", "ada", "bob", "x", "0" * 9, "abc123", "00/" + "0" * 32 + ".jpg"]),
                       value)

_PLACEHOLDER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def fill(template: str, values: list[str]) -> str:
    """A route's canonical path with each {placeholder} replaced by the next value, URL-quoted."""
    parts = iter(values)
    return _PLACEHOLDER.sub(lambda _m: quote(next(parts, "1"), safe=""), template)


def placeholders(template: str) -> int:
    return len(_PLACEHOLDER.findall(template))


def query_pairs(names: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    return st.lists(st.tuples(names, value), max_size=5)


AS_TYPES = ["Create", "Update", "Delete", "Follow", "Accept", "Reject", "Undo", "Like", "Announce", "Block",
            "Flag", "Move", "Add", "Remove", "Note", "Article", "Image", "Person", "Tombstone", "Question", "Bogus"]
AS_KEYS = ["id", "type", "actor", "object", "target", "to", "cc", "bto", "attributedTo", "inReplyTo", "content",
           "contentMap", "summary", "name", "url", "href", "attachment", "tag", "published", "updated", "mediaType",
           "sensitive", "@context", "publicKey", "owner", "publicKeyPem", "endpoints", "width", "height",
           "focalPoint", "icon", "image", "preferredUsername", "inbox", "followers", "@value", "@id", "@type"]
scalar = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20), st.sampled_from(NASTY),
                   st.sampled_from(AS_TYPES))
json_value = st.recursive(scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(AS_KEYS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=25)


def deep(levels: int) -> Any:
    doc: Any = "deep"
    for _ in range(levels):
        doc = [doc]
    return doc


nesting = st.sampled_from([33, 40, 400]).map(deep)  # json.dumps itself recurses: deeper goes in raw_deep
raw_deep = st.sampled_from([5_000, 100_000]).map(lambda n: '{"type": "Create", "object": ' + "[" * n + "]" * n + "}")
