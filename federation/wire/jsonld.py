"""JSON-LD without the network: contexts come from the copy shipped in federation/wire/data, nothing else.

A loader that fetches at request time is slow and lets a peer steer our parsing; one that falls back to
an empty context (bovine's offline behaviour) silently changes what a document means. So an unknown
remote context is refused with UnknownContextError.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from pyld import jsonld

from federation.wire.jsonld_shapes import ShapeCache

_DATA = Path(__file__).with_name("data") / "jsonld-contexts.json"

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
MASTODON_CONTEXT = "http://joinmastodon.org/ns"

# Other names servers use for shipped documents (keys are compared after _key()).
_ALIASES = {
    "https://www.w3.org/ns/activitystreams.jsonld": AS_CONTEXT,
    "https://schema.org/docs/jsonldcontext.jsonld": "http://schema.org/",
    "https://schema.org/docs/jsonldcontext.json": "http://schema.org/",
}

_ADDRESSING = ("to", "cc", "bto", "bcc", "audience")
# Always lists after compaction, so parsers need not handle "one value or a list" for these.
_SETS = {name: {"@id": f"as:{name}", "@type": "@id", "@container": "@set"} for name in (*_ADDRESSING, "tag")}

# What compact_activity() compacts to: ActivityStreams, then the extensions every fediverse server uses
# (security for publicKey, Mastodon's toot: terms and its schema.org PropertyValue, as:Hashtag & co that
# the AS context document lacks), then our own namespace as the `cara:` prefix.
COMPACT_CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    MASTODON_CONTEXT,
    {
        **_SETS,
        "attachment": {"@id": "as:attachment", "@type": "@id", "@container": "@set"},
        "sensitive": "as:sensitive",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "Hashtag": "as:Hashtag",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "cara": "https://w3id.org/cara-fed/ns#",
        "license": {"@id": "http://purl.org/dc/terms/license", "@type": "@id"},  # FEP-6757 (Pixelfed)
        # FEP-8b32: an actor's Multikeys (what verifies the proofs it makes), as the Multikey context names them.
        "assertionMethod": {"@id": "sec:assertionMethod", "@type": "@id", "@container": "@set"},
        "Multikey": "sec:Multikey",
        "controller": {"@id": "sec:controller", "@type": "@id"},
        "publicKeyMultibase": {"@id": "sec:publicKeyMultibase", "@type": "sec:multibase"},
    },
]


class UnknownContextError(ValueError):
    """A document names a remote @context we do not ship."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"JSON-LD context {url!r} is not shipped with cara-fed; unknown remote contexts are refused, not fetched"
        )
        self.url = url


class JsonLdError(ValueError):
    """A document that is not usable JSON-LD (bad @context shape, cyclic contexts...)."""


@functools.cache
def load_contexts() -> dict[str, dict]:
    """URL -> context document ({"@context": ...}), as shipped."""
    with _DATA.open(encoding="utf-8") as fh:
        return json.load(fh)


def _key(url: str) -> str:
    """http/https and a trailing '#' or '/' do not change which context a URL names."""
    key = url.strip().rstrip("#").rstrip("/")
    return "https://" + key[len("http://") :] if key.startswith("http://") else key


@functools.cache
def _index() -> dict[str, str]:
    index = {_key(url): url for url in load_contexts()}
    index.update({_key(alias): target for alias, target in _ALIASES.items()})
    return index


def document_loader(url: str, options: dict | None = None) -> dict:
    """PyLD document loader serving only shipped contexts. Never touches the network."""
    source = _index().get(_key(url)) if isinstance(url, str) else None
    if source is None:
        raise UnknownContextError(str(url))
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        # A copy: PyLD must not be able to change the shipped data for the next caller.
        "document": copy.deepcopy(load_contexts()[source]),
        # A tag lets PyLD keep the processed context in its shared cache (fixed data, safe to reuse).
        "tag": "static",
    }


def _unknown_context(exc: BaseException | None) -> UnknownContextError | None:
    """PyLD wraps loader errors in JsonLdError(details={'cause': ...}), sometimes several deep."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UnknownContextError):
            return exc
        details = getattr(exc, "details", None)
        cause = details.get("cause") if isinstance(details, dict) else None
        exc = cause if isinstance(cause, BaseException) else exc.__cause__ or exc.__context__
    return None


def _full_public(value: Any) -> Any:
    # Compaction turns the public collection into "as:Public"; downstream code compares full IRIs.
    if value in ("as:Public", "Public"):
        return AS_PUBLIC
    if isinstance(value, list):
        return [_full_public(item) for item in value]
    return value


def _restore_public(node: Any) -> Any:
    if isinstance(node, list):
        return [_restore_public(item) for item in node]
    if not isinstance(node, dict):
        return node
    # (not inside @context: there "to" is a term definition, not an audience)
    return {key: value if key == "@context" else _full_public(value) if key in _ADDRESSING else _restore_public(value)
            for key, value in node.items()}


def _with_activitystreams(doc: dict) -> dict:
    """ActivityStreams 2.0 §2.1: the AS context is implied even when @context is missing, null or lists only
    other contexts, so it is put first (later contexts can still redefine terms)."""
    given = doc.get("@context")
    contexts = given if isinstance(given, list) else ([] if given is None else [given])
    if any(isinstance(c, str) and c.replace("http://", "https://", 1).rstrip("#/").removesuffix(".jsonld") == AS_CONTEXT
           for c in contexts):
        return doc
    return {**doc, "@context": [AS_CONTEXT, *contexts]}


_SHAPE_CACHES: dict[str, ShapeCache] = {}


def _shapes(context: Any) -> ShapeCache:
    """One shape cache per target context (COMPACT_CONTEXT, or what a caller passes)."""
    if context is None:
        return _default_shapes()
    name = json.dumps(context, sort_keys=True)
    cache = _SHAPE_CACHES.get(name)
    if cache is None:
        if len(_SHAPE_CACHES) >= 16:
            _SHAPE_CACHES.clear()
        cache = _SHAPE_CACHES[name] = ShapeCache(context, document_loader)
    return cache


@functools.cache
def _default_shapes() -> ShapeCache:
    """COMPACT_CONTEXT's: found without serialising that large context again for every activity (7 % of the
    inbox worker's time when it did)."""
    return ShapeCache(COMPACT_CONTEXT, document_loader)


def compact_activity(doc: dict, context: Any = None) -> dict:
    """Expand `doc` with its own @context, then compact it to COMPACT_CONTEXT (or `context`).

    Terms the sender defined under other names come out under ours; unknown terms of the AS `@vocab`
    keep their names. A missing @context is taken as ActivityStreams (ActivityPub §3.1: implied).
    Raises UnknownContextError for contexts we do not ship, JsonLdError for unusable JSON-LD.
    """
    doc = _with_activitystreams(doc)
    try:
        # Cached per document shape (federation.wire.jsonld_shapes): equal to a fresh compaction, ~20x cheaper.
        compacted = _shapes(context).compact(doc)
    except jsonld.JsonLdError as exc:
        unknown = _unknown_context(exc)
        if unknown is not None:
            raise UnknownContextError(unknown.url) from exc
        raise JsonLdError(f"activity is not usable JSON-LD: {getattr(exc, 'message', exc)}") from exc
    return _restore_public(compacted)


def install_for_bovine() -> None:
    """Make bovine's JSON-LD helpers use our loader.

    bovine has no loader hook: importing `bovine.jsonld` (bovine.parse does) calls PyLD's global
    `jsonld.set_document_loader` with bovine's own loader, which fetches over the network, caches in
    ./bovine_jsonld_cache.sqlite (created at import, in the working directory) and falls back to an empty
    context when offline. Its helpers then call PyLD without options, so they use that global loader.
    We import it first, so its import-time side effect cannot undo ours later, then replace the global,
    still serving bovine's internal "about:bovine" context (built from shipped contexts only).
    """
    import bovine.jsonld as bovine_jsonld  # late on purpose, no cycle: its import writes a cache file (above)

    def loader(url: str, options: dict | None = None) -> dict:
        if url == bovine_jsonld.bovine_context_name:
            return {
                "contentType": "application/ld+json",
                "contextUrl": None,
                "documentUrl": url,
                "document": {"@context": copy.deepcopy(bovine_jsonld.bovine_context)},
            }
        return document_loader(url, options)

    jsonld.set_document_loader(loader)
