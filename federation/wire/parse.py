"""ActivityStreams in, our plain dataclasses out (the only place inbound AS JSON is read, with its parse_*.py
siblings: parse_values.py, parse_actors.py, parse_artworks.py, parse_keys.py, parse_threads.py).

This module reads the envelope: the JSON-LD contexts we accept, compaction, the Activity and a Flag.
Documents are first compacted to one known context (`federation.wire.jsonld.compact_activity`, offline), so
aliases a sender chose come out under our names. Terms a sender did not define come out of the AS
context's `@vocab` as `_:term`; `get()` accepts both spellings. Be liberal like Mastodon: one value or a
list, a string or a Link, `name` or `summary` for alt text, `contentMap` when there is no `content`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from federation.wire import jsonld
from federation.wire.parse_values import first, iri, iris, plain_text, text, type_of


class ParseError(ValueError):
    """The document is not something we can read. `reason` is plain words, fine for a 400 body."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Activity:
    id: str
    type: str
    actor: str
    object: dict | str | None = None
    target: dict | str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)

    @property
    def object_id(self) -> str | None:
        return iri(self.object)

    @property
    def object_type(self) -> str | None:
        return type_of(self.object) if isinstance(self.object, dict) else None


@functools.lru_cache(maxsize=512)
def _context_known(url: str) -> bool:
    try:
        jsonld.document_loader(url)
    except jsonld.UnknownContextError:
        return False
    return True


def _context_urls(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [url for item in value for url in _context_urls(item)]
    return []  # inline context objects are fine (remote URLs nested in them are caught by compaction)


def check_contexts(doc: dict) -> None:
    """Cheap check for the HTTP layer: every @context URL (top level and embedded object) is one we ship."""
    for node in (doc, doc.get("object")):
        if isinstance(node, dict):
            for url in _context_urls(node.get("@context")):
                if not _context_known(url):
                    raise ParseError(f"unsupported JSON-LD context: {url[:200]}")


def normalize(doc: dict) -> dict:
    """Compact to our context; refuse unknown remote contexts and unusable JSON-LD."""
    try:
        return jsonld.compact_activity(doc)
    except jsonld.UnknownContextError as exc:
        raise ParseError(f"unsupported JSON-LD context: {exc.url[:200]}") from None
    except jsonld.JsonLdError as exc:
        raise ParseError(str(exc)) from None


def activity(doc: dict) -> Activity:
    """The envelope of a compacted activity. id, type and actor are required."""
    id_, type_, actor_ = iri(doc.get("id")), type_of(doc), iri(doc.get("actor"))
    if not id_ or not type_ or not actor_:
        raise ParseError("an activity needs an id, a type and an actor")
    return Activity(id=id_, type=type_, actor=actor_, object=first(doc.get("object")),
                    target=first(doc.get("target")), to=iris(doc.get("to")), cc=iris(doc.get("cc")))


def flag(doc: dict) -> tuple[list[str], str]:
    """(object IRIs, reason as plain text) of a compacted Flag: Mastodon sends [actor, statuses…] + content."""
    uris = iris(doc.get("object"))
    if not uris:
        raise ParseError("a Flag needs an object")
    return uris[:20], plain_text(text(doc.get("content")))[:1000]
