"""One parsing layer for numbers that arrive as text: ids, cursors, page numbers, amounts.

Why: `str.isdigit()` accepts '²' and other Unicode digits that `int()` then rejects (a 500), and ids past the
database's integer range overflow inside the driver (PostgreSQL int4, SQLite's signed 64-bit). Everything here
accepts ASCII digits only and range-checks, so callers turn a None into a clear 400 or "not found".
"""

from __future__ import annotations

INT4_MAX = 2**31 - 1  # our ids are `Integer` columns: int4 on PostgreSQL
INT8_MAX = 2**63 - 1  # SQLite's integers, PostgreSQL bigint


def is_ascii_digits(raw: object) -> bool:
    return isinstance(raw, str) and raw.isascii() and raw.isdigit()


def parse_whole(raw: object, *, least: int = 0, most: int = INT8_MAX) -> int | None:
    """A whole number in [least, most] written in ASCII digits (an int passes through), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif is_ascii_digits(raw) and len(raw) <= len(str(most)):  # type: ignore[arg-type]
        value = int(raw)  # type: ignore[arg-type]
    else:
        return None
    return value if least <= value <= most else None


def parse_id(raw: object) -> int | None:
    """A row id: 1..2^31-1 (anything else names no row)."""
    return parse_whole(raw, least=1, most=INT4_MAX)


def parse_ids(values: object) -> list[int]:
    """The valid ids among several raw values, in order; invalid ones are dropped."""
    items = values if isinstance(values, list | tuple) else [values]
    return [number for number in (parse_id(v) for v in items) if number is not None]


def clamp(raw: object, default: int, *, least: int = 0, most: int) -> int:
    """A limit/offset: the number bounded to [least, most]; missing or not a number → default.
    Huge digit strings clamp to `most` instead of overflowing."""
    if is_ascii_digits(raw):
        text = str(raw).lstrip("0") or "0"
        return max(least, min(int(text) if len(text) <= 19 else most, most))
    return default
