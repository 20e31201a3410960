"""The edit page's thumbnail-focus control: a 3×3 grid of radio buttons over the image (no script needed).

Values are Mastodon's focus, "x,y" with x from -1 (left) to 1 (right) and y from 1 (top) to -1 (bottom). The cell
nearest the stored point carries that exact point as its value, so saving the form unchanged keeps a point set
elsewhere (a client app's 0.25,-0.5) instead of snapping it to the grid."""

from __future__ import annotations

from dataclasses import dataclass

ROWS = (("top", 1), ("", 0), ("bottom", -1))
COLUMNS = (("left", -1), ("", 0), ("right", 1))


@dataclass(frozen=True)
class Cell:
    label: str
    value: str
    checked: bool


def _snap(value: float) -> int:
    return -1 if value < -1 / 3 else 1 if value > 1 / 3 else 0


def _number(value: float) -> str:
    return f"{value:g}"


def _submitted(raw: object) -> tuple[float, float] | None:
    try:
        x, y = (float(part) for part in str(raw).split(","))
    except ValueError:
        return None
    return (x, y) if -1 <= x <= 1 and -1 <= y <= 1 else None


def focus_cells(x: float | None, y: float | None, submitted: object = None) -> list[Cell]:
    """Nine cells, top left to bottom right; the one nearest the point (the form's, when it sent a valid one)
    is checked."""
    point = _submitted(submitted) if submitted is not None else None
    px, py = point if point is not None else (x or 0.0, y or 0.0)
    nearest = (_snap(px), _snap(py))
    cells = []
    for row, cy in ROWS:
        for column, cx in COLUMNS:
            label = f"{row} {column}".strip() or "centre"
            here = (cx, cy) == nearest
            value = f"{_number(px)},{_number(py)}" if here else f"{cx},{cy}"
            cells.append(Cell(label, value, here))
    return cells

