"""Issue 16 item 10: each verdict says which layers could have fired on the file, decided from the file."""

import io

import numpy as np
from PIL import Image

from protection.detect import Verdict, coverage, detect, stealth
from tests.protection.detect.fixtures import A1111_PARAMS, encode, exif_with, photo, png_text


def by_check(entries: list[dict]) -> dict[str, dict]:
    return {e["check"]: e for e in entries}


def webp(arr: np.ndarray, **kw) -> bytes:
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "WEBP", **kw)
    return out.getvalue()


def test_re_encoded_jpeg_says_watermark_layers_are_not_applicable():
    verdict = detect(encode(photo(640, 480), "JPEG", quality=90))
    assert verdict.label == "no_signal"
    cov = by_check(verdict.coverage)
    assert cov["watermark"]["applies"] is False
    assert cov["watermark"]["why"] == "re-encoded JPEG (chroma subsampled): watermark layers not applicable"
    assert not cov["stealth"]["applies"] and not cov["c2pa"]["applies"] and not cov["iptc"]["applies"]
    assert not cov["generator"]["applies"] and "no metadata" in cov["generator"]["why"]
    assert not cov["classifier"]["applies"] and "no classifier" in cov["classifier"]["why"]
    assert {c["check"] for c in verdict.not_applicable} == set(cov)


def test_jpeg_444_keeps_the_watermark_layer_and_exif_keeps_generator():
    data = encode(photo(640, 480), "JPEG", quality=95, subsampling=0, exif=exif_with(software="Midjourney"))
    cov = by_check(coverage.assess(data))
    assert cov["watermark"]["applies"] and cov["generator"]["applies"] and not cov["stealth"]["applies"]


def test_png_with_metadata_has_every_pixel_and_text_layer():
    cov = by_check(coverage.assess(png_text(photo(640, 480), {"parameters": A1111_PARAMS}), classifier=True))
    assert all(cov[k]["applies"] for k in ("generator", "stealth", "watermark", "classifier"))
    assert not cov["c2pa"]["applies"] and not cov["iptc"]["applies"]


def test_small_images_and_gifs():
    small = by_check(coverage.assess(encode(photo(200, 200), "PNG")))
    assert not small["watermark"]["applies"] and "256" in small["watermark"]["why"]
    gif = by_check(coverage.assess(encode(Image.fromarray(photo(320, 320)).convert("P"), "GIF")))
    assert not gif["watermark"]["applies"] and not gif["stealth"]["applies"]


def test_lossy_webp_keeps_only_the_alpha_stealth_layer():
    """What the coverage claims is what the layers do: the alpha-channel stealth metadata survives lossy WebP
    (WebP stores alpha losslessly), the dwtDct mark and RGB low bits do not."""
    rgba = np.dstack([photo(400, 300), np.full((300, 400), 255, np.uint8)])
    marked = stealth.write(rgba, A1111_PARAMS.encode(), magic="stealth_pngcomp")
    data = webp(marked, quality=80)
    cov = by_check(coverage.assess(data))
    assert cov["stealth"]["applies"] and "alpha" in cov["stealth"]["why"]
    assert not cov["watermark"]["applies"] and "lossy WebP" in cov["watermark"]["why"]
    assert detect(data).label != "no_signal"  # and the layer really fires on it
    opaque = by_check(coverage.assess(webp(photo(400, 300), quality=80)))
    assert not opaque["stealth"]["applies"]
    lossless = by_check(coverage.assess(webp(photo(400, 300), lossless=True)))
    assert lossless["stealth"]["applies"] and lossless["watermark"]["applies"]


def test_coverage_round_trips_through_json_and_old_rows_have_none():
    verdict = detect(encode(photo(320, 320), "JPEG"))
    again = Verdict.from_json(verdict.to_json())
    assert again.coverage == verdict.coverage and len(again.coverage) == len(coverage.CHECKS)
    old = Verdict.from_json({"version": 1, "score": 0.0, "label": "no_signal", "evidence": []})
    assert old.coverage == () and old.not_applicable == ()
    hostile = Verdict.from_json({"score": 0, "label": "no_signal", "coverage": ["x", {"applies": "yes", "image": "2"}]})
    assert hostile.coverage == ({"check": "", "name": "", "applies": True, "why": ""},)


def test_unreadable_file():
    assert all(not c["applies"] for c in detect(b"not an image").coverage)
