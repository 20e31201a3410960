"""web/tile_classes.py gives the classes the Jinja macros it replaced gave (the same pages, cheaper)."""

from types import SimpleNamespace

from jinja2 import Environment

from web import tile_classes

# The macros as they were in web/templates/_macros.html.
MACROS = Environment(trim_blocks=True, lstrip_blocks=True).from_string('''
{% macro focal(asset) %}
{%- set fx = ((asset.focal_x or 0) + 1) * 5 -%}
{%- set fy = (1 - (asset.focal_y or 0)) * 5 -%}
fx-{{ [0, [10, fx | round | int] | min] | max }} fy-{{ [0, [10, fy | round | int] | min] | max }}
{%- endmacro %}
{% macro ratio(work) -%}
{%- set a = work.cover.asset if work.cover else None -%}
{%- if a and a.width and a.height %}{{ [5, [25, (a.width / a.height * 10) | round | int] | min]
   | max }}{% else %}10{% endif -%}
{%- endmacro %}
''').module


def test_focal_classes_match_the_macro() -> None:
    points = [None, -1.5, 1.5] + [step / 20 for step in range(-20, 21)] + [0.25, -0.35, 0.05, -0.05, 0.15]
    for x in points:
        for y in points:
            asset = SimpleNamespace(focal_x=x, focal_y=y)
            assert tile_classes.focal(asset) == str(MACROS.focal(asset)), (x, y)


def test_tile_ratio_matches_the_macro() -> None:
    sizes = [(None, 10), (10, None), (0, 10)] + [(w, h) for w in (1, 40, 95, 100, 105, 640, 2000, 9000)
                                                 for h in (1, 40, 100, 333, 1400, 8000)]
    works = [SimpleNamespace(cover=None)] + [
        SimpleNamespace(cover=SimpleNamespace(asset=SimpleNamespace(width=w, height=h))) for w, h in sizes]
    for work in works:
        assert str(tile_classes.ratio(work)) == str(MACROS.ratio(work)), work
