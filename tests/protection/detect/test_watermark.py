"""Layer (d): Stable Diffusion invisible watermarks (dwtDct), with a stated false-positive bound."""

import io
import math

import numpy as np
import pytest
import pywt
from PIL import Image

from protection.detect import detect, dwtdct, watermark
from tests.protection.detect.fixtures import SDXL_BITS, drawing, encode, photo

SD1 = list(np.unpackbits(np.frombuffer(b"StableDiffusionV1", np.uint8)))
SD2 = list(np.unpackbits(np.frombuffer(b"SDV2", np.uint8)))


def marked(pattern: str, img: np.ndarray) -> np.ndarray:
    if pattern == "sdxl":  # SDXL pipelines embed on a float array, then round to uint8
        return dwtdct.encode(img.astype(np.float32), SDXL_BITS, "float")
    return dwtdct.encode(img, SD1 if pattern == "sd1" else SD2, "uint8")


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_false_positive_bound_math():
    """For n pattern bits and random image bits, P(>= k match) = sum_{i>=k} C(n,i) / 2^n; each threshold is
    the smallest k under 1e-6/6, so all three patterns in both channel orders together stay under 1e-6
    (union bound)."""
    expected = {"sd1": (136, 98), "sd2": (32, 30), "sdxl": (48, 42)}
    total = 0.0
    for p in watermark.PATTERNS:
        n, k = expected[p.name]
        assert (len(p.bits), p.min_bits) == (n, k)
        tail = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
        assert tail == watermark.binomial_tail(n, k) < 1e-6 / 6
        assert watermark.binomial_tail(n, k - 1) >= 1e-6 / 6  # and k is the smallest such threshold
        total += 2 * tail
    assert total < 1e-6
    assert watermark.binomial_tail(48, 42) == pytest.approx(5.04e-8, rel=1e-2)


def test_sdxl_bits_and_payloads_are_the_published_ones():
    assert "".join(map(str, watermark.SDXL_BITS)) == "101100111110110010010000011110111011000110011110"
    assert np.packbits(watermark.PATTERNS[0].bits).tobytes() == b"StableDiffusionV1"
    assert np.packbits(watermark.PATTERNS[1].bits).tobytes() == b"SDV2"


def test_fast_ll_equals_pywavelets():
    u = np.random.default_rng(0).uniform(-50, 300, (258, 302))
    ll = pywt.dwt2(u[:256, :300], "haar")[0]
    assert np.allclose(dwtdct.haar_ll(u), ll)


@pytest.mark.parametrize("pattern", ["sd1", "sd2", "sdxl"])
def test_each_pattern_detected_after_png_round_trip(pattern):
    data = encode(marked(pattern, photo(768, 768, seed=5)), "PNG")
    found = watermark.scan(data)
    assert [e.details["pattern"] for e in found] == [pattern]
    e = found[0]
    assert e.label == "ai_generated" and e.details["bits_matched"] >= e.details["threshold"]
    assert e.details["false_positive_bound"] < 1e-6
    assert detect(data).label == "ai_generated"


def test_sdxl_decodes_only_in_float_mode():
    img = marked("sdxl", photo(768, 768, seed=4))
    as_float = dwtdct.decode(dwtdct.block_bits(img, "float"), 48)
    as_uint8 = dwtdct.decode(dwtdct.block_bits(img, "uint8"), 48)
    assert int((as_float == SDXL_BITS).sum()) >= 41
    assert int((as_uint8 == SDXL_BITS).sum()) < 41


def test_jpeg_q90_destroys_the_mark():
    """Documented: Pillow's JPEG q90 (4:2:0 chroma subsampling, its default) leaves the bits at chance level."""
    for pattern in ("sd1", "sd2", "sdxl"):
        img = marked(pattern, photo(768, 768, seed=5))
        assert watermark.scan(encode(img, "JPEG", quality=90)) == []
        counts = watermark.match_counts(decoded(encode(img, "JPEG", quality=90)))
        n = {"sd1": 136, "sd2": 32, "sdxl": 48}[pattern]
        assert counts[pattern] < 0.75 * n


def test_jpeg_q90_without_chroma_subsampling_keeps_sd1():
    img = marked("sd1", photo(768, 768, seed=5))
    assert [e.details["pattern"] for e in watermark.scan(encode(img, "JPEG", quality=90, subsampling=0))] == ["sd1"]


def test_resizing_destroys_the_mark():
    img = Image.fromarray(marked("sdxl", photo(768, 768, seed=6))).resize((700, 700), Image.Resampling.LANCZOS)
    assert watermark.scan(encode(img, "PNG")) == []


@pytest.mark.parametrize("seed", range(6))
def test_clean_photos_and_drawings_do_not_flag(seed):
    for img in (photo(640, 480, seed=seed, noise=2 + 4 * seed), drawing(640, 480, seed=seed)):
        assert watermark.scan(encode(img, "PNG")) == []
        assert watermark.scan(encode(img, "JPEG", quality=92)) == []


def test_small_images_are_skipped():
    small = marked("sd2", photo(300, 300))[:200, :200]
    assert watermark.scan(encode(small, "PNG")) == []
