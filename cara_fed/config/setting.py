"""`setting()`: how every configuration field is declared (type by its default, doc, allowed values).

The doc, choices and minimum travel as dataclass field metadata, read by loading.py (validation and the
CARA_FED__ environment form) and example.py (config.example.toml), so each is written once.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def setting(default: Any, doc: str, choices: tuple[str, ...] | None = None, minimum: int | None = None,
            item: type = int) -> Any:
    """`item`: the element type of a list setting (its environment form is comma-separated)."""
    return field(default=default, metadata={"doc": doc, "choices": choices, "minimum": minimum, "item": item})
