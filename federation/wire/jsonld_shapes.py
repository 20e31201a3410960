"""JSON-LD compaction cached per document *shape*: PyLD costs milliseconds per activity, and a busy inbox
receives thousands of activities that differ only in their values (ids, text, dates).

A document's shape is its structure with every string value replaced by a class: its @context (and every
`@`-keyword and `type` value) verbatim, its keys in order, numbers/booleans/null verbatim, and for each other
string whether it is an *opaque IRI* (absolute `scheme://…`, not under any IRI the target context maps, so
JSON-LD expands and compacts it to itself). On a miss the shape is compacted once with each string replaced
by a unique placeholder (an opaque IRI under `.invalid`); the expanded placeholder document tells where each
string sits:
  - in a literal (`@value`): compaction carries it through whatever its text, so any value fits;
  - anywhere else (`@id`, `@type`, an aliased keyword): its text matters, so it must be an opaque IRI, or it
    is *pinned*: the cache keeps one template per combination of pinned values (e.g. `as:Public`).
Every template is checked on creation: it is filled with the document's own values and must equal the
fresh compaction, else the shape is never served from the cache. Results are fresh objects each time.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from pyld import jsonld as pyld

MAX_SHAPES = 2048
MAX_PINNED_VARIANTS = 64  # per shape: a shape whose pinned values vary a lot is compacted fresh instead
_PLACEHOLDER = "https://cara-fed.invalid/shape/"
_OPAQUE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s<>\"{}|\\^`]*")
# Values kept verbatim in the shape (they steer JSON-LD processing): every keyword but @id/@value, and type.
_VERBATIM_KEYS = frozenset({"type"})

Compactor = Callable[[dict], dict]


class _Uncacheable(Exception):
    pass


def _opaque(value: str, mapped: tuple[str, ...]) -> bool:
    return _OPAQUE.fullmatch(value) is not None and not value.startswith(mapped)


def _skeleton(doc: Any, mapped: tuple[str, ...]) -> tuple[tuple, list[str]]:
    """(shape key, the strings that placeholders stand for, in walk order). Run for every activity the worker
    handles, so the walk is written for speed (strings first: most nodes are strings; local names)."""
    tokens: list[Any] = []
    values: list[str] = []
    add, keep, opaque = tokens.append, values.append, _OPAQUE.fullmatch

    def walk(node: Any, verbatim: bool) -> None:
        if isinstance(node, str) and not verbatim:
            add("o" if opaque(node) is not None and not node.startswith(mapped) else "s")  # = _opaque()
            keep(node)
        elif isinstance(node, dict):
            add("{")
            for key, value in node.items():
                add("k")
                add(key)
                if key == "@context":
                    # (a tuple for the JSON text: the context "null" and a null context are different shapes)
                    add(value if isinstance(value, str) else ("json", json.dumps(value, sort_keys=True)))
                else:
                    walk(value, key in _VERBATIM_KEYS or (key[:1] == "@" and key != "@id" and key != "@value"))
            add("}")
        elif isinstance(node, list):
            add("[")
            for item in node:
                walk(item, verbatim)
            add("]")
        else:  # verbatim strings, numbers, booleans, null (1, 1.0 and True differ by type)
            add("v")
            add(type(node).__name__)
            add(node)

    walk(doc, False)
    return tuple(tokens), values


def _placeheld(doc: Any, keep: frozenset[int] = frozenset()) -> Any:
    """`doc` with each placeholder-able string replaced (in _skeleton's walk order), but those in `keep`."""
    counter = [0]

    def walk(node: Any, verbatim: bool) -> Any:
        if isinstance(node, dict):
            return {key: (value if key == "@context" else
                          walk(value, key in _VERBATIM_KEYS or (key.startswith("@") and key not in ("@id", "@value"))))
                    for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item, verbatim) for item in node]
        if isinstance(node, str) and not verbatim:
            counter[0] += 1
            return node if counter[0] - 1 in keep else f"{_PLACEHOLDER}{counter[0] - 1}"
        return node

    return walk(doc, False)


def _index(value: Any) -> int | None:
    if isinstance(value, str) and value.startswith(_PLACEHOLDER):
        tail = value[len(_PLACEHOLDER):]
        if tail.isdigit():
            return int(tail)
    return None


def _non_literal_positions(expanded: Any) -> set[int]:
    """Placeholders found anywhere but as an @value (their text matters there)."""
    found: set[int] = set()

    def walk(node: Any, literal: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, key == "@value")
        elif isinstance(node, list):
            for item in node:
                walk(item, literal)
        elif not literal and (index := _index(node)) is not None:
            found.add(index)

    walk(expanded, False)
    return found


class _Frozen:
    """A template subtree without placeholders (the compacted @context above all), copied by json.loads:
    several times cheaper than walking it."""

    __slots__ = ("text",)

    def __init__(self, value: Any):
        self.text = json.dumps(value)


class _Slot:
    """Where a served template takes the document's value number `index` (a placeholder, found once)."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


def _freeze(template: Any) -> Any:
    """The template as served: each largest placeholder-free dict/list replaced by a _Frozen copy, and each
    placeholder by a _Slot."""
    def has_placeholder(node: Any) -> bool:
        if isinstance(node, dict):
            return any(has_placeholder(value) for value in node.values())
        if isinstance(node, list):
            return any(has_placeholder(item) for item in node)
        return _index(node) is not None

    def walk(node: Any) -> Any:
        if isinstance(node, dict | list) and not has_placeholder(node):
            return _Frozen(node) if node else node
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        index = _index(node)
        return node if index is None else _Slot(index)

    return walk(template)


def _fill(template: Any, values: list[str]) -> Any:
    """A frozen template filled with a document's values (run for every cache hit: exact type tests, no
    placeholder parsing; PyLD's output holds only plain dicts, lists and scalars)."""
    kind = type(template)
    if kind is dict:
        return {key: _fill(value, values) for key, value in template.items()}
    if kind is list:
        return [_fill(item, values) for item in template]
    if kind is _Slot:
        return values[template.index]
    if kind is _Frozen:
        return json.loads(template.text)
    return template


def _fill_placeheld(template: Any, values: list[str]) -> Any:
    """A template as PyLD made it (placeholder strings) filled with values: the check of a new template."""
    if isinstance(template, dict):
        return {key: _fill_placeheld(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill_placeheld(item, values) for item in template]
    if isinstance(template, str) and (index := _index(template)) is not None:
        return values[index]
    return template


class _Shape:
    """One shape: which placeholders are pinned, and a template per combination of pinned values."""

    def __init__(self, pinned: tuple[int, ...]):
        self.pinned = pinned
        self.templates: dict[tuple[str, ...], Any] = {}
        self.uncacheable = False


class ShapeCache:
    """compact(doc) == compact_fresh(doc), computed once per shape (thread-safe, bounded)."""

    def __init__(self, target: Any, loader: Any, max_shapes: int = MAX_SHAPES):
        self.target, self.loader, self.max_shapes = target, loader, max_shapes
        self._mapped: tuple[str, ...] | None = None
        self._shapes: OrderedDict[tuple, _Shape] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def mapped_iris(self) -> tuple[str, ...]:
        """Every IRI the target context maps (terms, prefixes, @vocab): an IRI starting with one of them may
        be compacted to a term or a compact IRI, so it is not opaque."""
        if self._mapped is None:
            processor = pyld.JsonLdProcessor()
            options = {"documentLoader": self.loader}
            active = processor.process_context(processor._get_initial_context(options), self.target, options)
            iris = {definition["@id"] for definition in active.get("mappings", {}).values()
                    if isinstance(definition, dict) and isinstance(definition.get("@id"), str)}
            if isinstance(active.get("@vocab"), str):
                iris.add(active["@vocab"])
            self._mapped = tuple(sorted(iri for iri in iris if iri))
        return self._mapped

    def fresh(self, doc: dict) -> Any:
        options = {"documentLoader": self.loader}
        return pyld.compact(pyld.expand(doc, options), self.target, options)

    def compact(self, doc: dict) -> Any:
        """Raises what PyLD raises for `doc` (a cache hit cannot raise: its shape compacted fine before)."""
        mapped = self.mapped_iris()
        key, values = _skeleton(doc, mapped)
        with self._lock:
            shape = self._shapes.get(key)
            if shape is not None:
                self._shapes.move_to_end(key)
        if shape is not None and not shape.uncacheable:
            template = shape.templates.get(tuple(values[i] for i in shape.pinned))
            if template is not None:
                self.hits += 1
                return _fill(template, values)
        self.misses += 1
        result = self.fresh(doc)  # errors propagate, and are not cached
        if shape is None or not shape.uncacheable:
            self._learn(key, shape, doc, values, mapped, result)
        return result

    def _learn(self, key: tuple, shape: _Shape | None, doc: dict, values: list[str], mapped: tuple[str, ...],
               result: Any) -> None:
        try:
            options = {"documentLoader": self.loader}
            expanded = pyld.expand(_placeheld(doc), options)
            positions = _non_literal_positions(expanded)
            pinned = tuple(sorted(i for i in positions if not _opaque(values[i], mapped)))
            if pinned:  # their own text in the template: only the other values are filled in
                expanded = pyld.expand(_placeheld(doc, frozenset(pinned)), options)
            template = pyld.compact(expanded, self.target, options)
            if _fill_placeheld(template, values) != result:
                raise _Uncacheable
        except Exception:  # the placeholder document behaved differently: never serve this shape from cache
            pinned, template = (), None
        with self._lock:
            shape = self._shapes.get(key) if shape is None else shape
            if shape is None:  # (pinned depends on the shape alone: the same for every document of it)
                shape = _Shape(pinned)
            if template is None:
                shape.uncacheable = True
            elif len(shape.templates) < MAX_PINNED_VARIANTS:
                shape.templates[tuple(values[i] for i in pinned)] = _freeze(template)
            self._shapes[key] = shape
            self._shapes.move_to_end(key)
            while len(self._shapes) > self.max_shapes:
                self._shapes.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._shapes.clear()
