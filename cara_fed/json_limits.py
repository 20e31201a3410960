"""JSON from strangers with a nesting limit.

Why: a body nested 100,000 deep makes `json.loads` raise RecursionError (not ValueError), and a document a few
hundred levels deep parses but crashes any recursive walker later (JSON-LD, our AS parser) inside a worker,
where it would be retried forever. Real ActivityPub and API documents are a handful of levels deep, so
anything past MAX_DEPTH is refused as bad input, at the edge, before anything walks it.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class TooDeep(ValueError):
    """A ValueError, so every `except ValueError` that answers "not valid JSON" covers it too."""


def depth(doc: Any) -> int:
    """How deeply lists and objects nest (a scalar is 0); iterative, so any depth is safe to measure."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _brackets(body: str | bytes | bytearray) -> int:
    if isinstance(body, str):
        return body.count("{") + body.count("[")
    return body.count(b"{") + body.count(b"[")


def loads(body: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, **options: Any) -> Any:
    """`json.loads` that raises TooDeep (a ValueError) for documents nested deeper than max_depth."""
    try:
        doc = json.loads(body, **options)
    except RecursionError:
        raise TooDeep(f"the JSON nests deeper than {max_depth} levels") from None
    # Nesting needs an opening bracket per level: a body with few of them cannot be too deep, and counting
    # (C speed) is much cheaper than walking every inbox activity (brackets inside strings only overcount).
    if _brackets(body) > max_depth and depth(doc) > max_depth:
        raise TooDeep(f"the JSON nests deeper than {max_depth} levels")
    return doc
