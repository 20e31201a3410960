"""json_limits.loads refuses documents nested past MAX_DEPTH, also when it skips the walk (few brackets)."""

from __future__ import annotations

import json

import pytest

from cara_fed import json_limits
from cara_fed.json_limits import MAX_DEPTH, TooDeep


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_the_limit_is_exact_for_text_and_bytes():
    for body in (nested(MAX_DEPTH), nested(MAX_DEPTH).encode()):
        assert json_limits.depth(json_limits.loads(body)) == MAX_DEPTH
    for body in (nested(MAX_DEPTH + 1), nested(MAX_DEPTH + 1).encode()):
        with pytest.raises(TooDeep):
            json_limits.loads(body)


def test_brackets_inside_strings_neither_hide_nor_fake_depth():
    shallow = json.dumps({"content": "[" * 100 + "{" * 100, "to": [["x"]]})
    assert json_limits.loads(shallow)["to"] == [["x"]]
    deep = json.dumps({"a": json.loads(nested(MAX_DEPTH))})  # one object around the limit: one level too deep
    with pytest.raises(TooDeep):
        json_limits.loads(deep)
