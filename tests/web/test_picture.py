"""web/picture.py builds the HTML the `picture` macro built (the same pages, cheaper): for ready, rejected and
processing images, eager or lazy, with classes, hostile alt text and error messages (escaped), and with a public
store/CDN base URL for files that have a public copy."""

from __future__ import annotations

from jinja2 import Environment

from cara_fed.queries_cards import CardAsset, CardImage
from web import tile_classes
from web.picture import media_url, picture, srcset

BASE = "https://cdn.example/media"

# The macro as it was in web/templates/_macros.html (the environment's options as in web/render.py).
_env = Environment(trim_blocks=True, lstrip_blocks=True, autoescape=True)
_env.filters["media_url"] = lambda derivative: media_url(derivative, BASE)
_env.filters["srcset"] = lambda asset, fmt: srcset(asset, fmt, BASE)
_env.globals["focal_classes"] = tile_classes.focal
MACRO = _env.from_string('''
{% macro picture(image, size=1280, sizes="(max-width: 700px) 100vw, 33vw", eager=False, cls="") %}
{% set asset = image.asset %}
{% if asset.state == "ready" and asset.derivatives %}
{% set fallback = asset.best(size, "jpeg") %}
<picture>
  <source type="image/webp" srcset="{{ asset | srcset('webp') }}" sizes="{{ sizes }}">
  <img class="{{ cls }} {{ focal_classes(asset) }}" src="{{ fallback | media_url }}" srcset="{{ asset | srcset('jpeg') }}" sizes="{{ sizes }}"
       width="{{ fallback.width }}" height="{{ fallback.height }}" alt="{{ image.alt_text }}"
       {% if eager %}fetchpriority="high"{% else %}loading="lazy" decoding="async"{% endif %}>
</picture>
{% elif asset.state == "rejected" %}
<div class="placeholder failed" role="img" aria-label="Image could not be processed">
  <span>Not processed: {{ asset.error_message or "the image was refused" }}</span>
</div>
{% else %}
<div class="placeholder processing" role="img" aria-label="Image is being processed">
  <span><span class="spinner" aria-hidden="true"></span>Processing…</span>
</div>
{% endif %}
{% endmacro %}
''').module  # noqa: E501


def _derivatives(public: bool) -> list[tuple]:
    """Rows of CardDerivative's fields, largest first, as queries_cards reads them."""
    files = []
    for number, edge in enumerate((2560, 1600, 1280, 640, 400)):
        for fmt in ("webp", "jpeg"):
            files.append((number * 2 + (fmt == "jpeg"), edge, fmt, edge, edge * 3 // 4,
                          f"ab/{fmt}{edge}.{'jpg' if fmt == 'jpeg' else fmt}",
                          "yes" if public and edge != 1280 else None))
    return files


def _image(state: str, *, derivatives: bool = True, public: bool = False, alt: str = 'A "calm" <sea> & sky',
           error: str | None = None, focus: tuple[float, float] = (0.3, -0.6)) -> CardImage:
    asset = CardAsset(7, state, 2560, 1920, focus[0], focus[1], error, 0, None,
                      _derivatives(public) if derivatives else [])
    return CardImage(3, alt, asset)


def test_the_same_html_as_the_macro() -> None:
    images = [_image("ready"), _image("ready", public=True), _image("ready", alt=""),
              _image("ready", focus=(-1.0, 1.0)), _image("ready", derivatives=False),
              _image("rejected", error='too big: 90 MP > 40 MP <b>'), _image("rejected"),
              _image("processing"), _image("cloaking"), _image("held")]
    calls = [((), {}), ((400, "(max-width: 700px) 50vw, 25vw"), {}), ((2560, "100vw"), {"eager": True}),
             ((160, "80px"), {"cls": "full \"x\""}), ((100_000, "a<b"), {"eager": True, "cls": "mini"}),
             ((10,), {})]
    for image in images:
        for args, options in calls:
            assert picture(image, *args, **options, base=BASE) == str(MACRO.picture(image, *args, **options)), \
                (image.asset.state, args, options)


def test_what_the_html_says() -> None:
    html = picture(_image("ready", public=True), 400, "50vw", eager=True, cls="full", base=BASE)
    assert 'alt="A &#34;calm&#34; &lt;sea&gt; &amp; sky"' in html and 'fetchpriority="high"' in html
    assert 'src="https://cdn.example/media/ab/jpeg400.jpg"' in html  # the public copy, the size asked for
    jpeg = html.split('<img ')[1].split('srcset="')[1].split('"')[0]
    assert jpeg.split(", ")[0] == "https://cdn.example/media/ab/jpeg400.jpg 400w"  # narrowest first
    assert "/media/ab/jpeg1280.jpg 1280w" in jpeg and "cdn.example/media/ab/jpeg1280" not in jpeg  # no public copy
    assert 'loading="lazy"' in picture(_image("ready"))
    assert "Not processed: the image was refused" in picture(_image("rejected"))
    assert "&lt;b&gt;" in picture(_image("rejected", error="<b>"))
    assert "Processing…" in picture(_image("ready", derivatives=False))
