"""Issue 16 items 7 and 8: marks made by the open-source embedder itself (PyPI `invisible-watermark`, installed
by `make install`), in both channel orders real pipelines use, on photos, drawings and flat art."""

import io

import numpy as np
import pytest
from imwatermark import WatermarkEncoder
from PIL import Image

from protection.detect import detect, dwtdct, watermark
from tests.protection.detect.fixtures import SDXL_BITS, drawing, encode, photo


def flat_art(width: int = 768, height: int = 768, seed: int = 0) -> np.ndarray:
    """A poster: a flat background and a few flat rectangles and discs, no gradients, no noise."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = rng.integers(0, 256, 3)
    yy, xx = np.mgrid[:height, :width]
    for _ in range(int(rng.integers(2, 7))):
        x0, y0 = int(rng.integers(0, width - 64)), int(rng.integers(0, height - 64))
        w, h = int(rng.integers(32, width // 2)), int(rng.integers(32, height // 2))
        if rng.random() < 0.5:
            img[y0:y0 + h, x0:x0 + w] = rng.integers(0, 256, 3)
        else:
            img[(xx - x0) ** 2 + (yy - y0) ** 2 < (w // 2) ** 2] = rng.integers(0, 256, 3)
    return img


def line_art(width: int = 768, height: int = 768, seed: int = 0, paper=(236, 228, 212)) -> np.ndarray:
    """Black lines on flat paper. Pure white paper is no use: the embedder's own uint8/clip step cuts the mark
    off there (test_pure_white_paper_clips_the_mark_in_the_embedder_itself)."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = paper
    for _ in range(12):
        if rng.random() < 0.5:
            y = int(rng.integers(0, height - 3))
            img[y:y + 3, :] = 0
        else:
            x = int(rng.integers(0, width - 3))
            img[:, x:x + 3] = 0
    return img


def embed(rgb: np.ndarray, pattern: str, order: str) -> np.ndarray:
    """Run the real embedder the way pipelines do. SD1/SD2 (CompVis scripts): uint8, RGB converted to BGR.
    SDXL: float 0..255 then rounded; generative-models flips to BGR, diffusers hands over RGB as is."""
    enc = WatermarkEncoder()
    if pattern == "sdxl":
        enc.set_watermark("bits", list(SDXL_BITS))
        arr = rgb.astype(np.float32)
    else:
        enc.set_watermark("bytes", b"StableDiffusionV1" if pattern == "sd1" else b"SDV2")
        arr = rgb
    given = np.ascontiguousarray(arr[..., ::-1] if order == "bgr" else arr)
    out = enc.encode(given, "dwtDct")
    out = out[..., ::-1] if order == "bgr" else out
    return np.clip(np.rint(out), 0, 255).astype(np.uint8) if pattern == "sdxl" else np.ascontiguousarray(out)


def png(arr: np.ndarray) -> bytes:
    return encode(arr, "PNG")


@pytest.mark.parametrize("pattern", ["sd1", "sd2", "sdxl"])
@pytest.mark.parametrize("order", dwtdct.ORDERS)
def test_both_channel_orders_are_found(pattern, order):
    # Smooth noiseless gradients defeat the package's own decoder too (near-ties of the 15 candidates), so the
    # photo has camera-like noise; the drawing has flat areas and hard edges.
    for base in (photo(768, 768, seed=5, noise=12), drawing(768, 768)):
        found = watermark.scan(png(embed(base, pattern, order)))
        assert [(e.details["pattern"], e.details["channel_order"]) for e in found] == [(pattern, order)]


def test_the_swapped_order_reads_as_noise_to_the_package_order_alone():
    """What item 7 was about: diffusers' SDXL marks read in the package's order alone are at chance level."""
    img = embed(photo(768, 768, seed=5, noise=12), "sdxl", "rgb")
    alone = dwtdct.decode(dwtdct.block_bits(img, "float", "bgr"), 48)
    assert int((alone == np.array(SDXL_BITS)).sum()) < watermark.PATTERNS[2].min_bits
    assert detect(png(img)).label == "ai_generated"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", ["flat", "line"])
def test_flat_art_marked_by_the_embedder_is_found(kind, seed):
    base = flat_art(seed=seed) if kind == "flat" else line_art(seed=seed)
    for pattern, order in (("sd1", "bgr"), ("sdxl", "rgb"), ("sd2", "bgr")):
        found = watermark.scan(png(embed(base, pattern, order)))
        assert [e.details["pattern"] for e in found] == [pattern], (kind, seed, pattern)


def test_pure_white_paper_clips_the_mark_in_the_embedder_itself():
    """Documented limit, not ours: on pure white the mark would push B or R past 255, so the package's own
    decoder cannot read it either; there is nothing left to find."""
    from imwatermark import WatermarkDecoder

    img = embed(line_art(seed=0, paper=(255, 255, 255)), "sd1", "bgr")
    own = WatermarkDecoder("bytes", 136).decode(np.ascontiguousarray(img[..., ::-1]), "dwtDct")
    assert own != b"StableDiffusionV1"
    assert watermark.scan(png(img)) == []


def test_flat_art_used_to_outvote_the_mark():
    """The package's own rule (argmax of the 15 candidates) on flat art reads the background's colour."""
    img = embed(flat_art(seed=1), "sd1", "bgr")
    flat = dwtdct._blocks(dwtdct.haar_ll(dwtdct.u_channel(img, "uint8")))
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    naive = (np.mod(np.abs(flat[np.arange(flat.shape[0]), pos]), 36) > 18).astype(np.float64)
    naive_match = int((dwtdct.decode(naive, 136) == np.array(watermark.PATTERNS[0].bits)).sum())
    assert naive_match < watermark.PATTERNS[0].min_bits
    assert watermark.match_counts(img)["sd1"] >= 130


def test_clean_flat_and_line_art_never_flag():
    """0 false positives on 40 clean flat posters and line drawings, plus solid colours and 2-colour splits."""
    images = [flat_art(640, 512, seed=s) for s in range(20)] + [line_art(512, 640, seed=s) for s in range(12)]
    images += [np.full((512, 512, 3), c, np.uint8) for c in ((255, 255, 255), (0, 0, 0), (12, 200, 90))]
    split = np.zeros((512, 768, 3), np.uint8)
    split[:, 384:] = (250, 240, 10)
    images += [split, split.transpose(1, 0, 2).copy(), drawing(640, 480, seed=9), photo(640, 480, seed=9)]
    flagged = [i for i, img in enumerate(images) if watermark.scan(png(img))]
    assert flagged == []
    counts = [watermark.match_counts(img) for img in images]
    assert max(c["sdxl"] for c in counts) < watermark.PATTERNS[2].min_bits


def test_embedder_marks_survive_lossless_webp_but_not_jpeg():
    img = embed(flat_art(seed=2), "sd1", "bgr")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "WEBP", lossless=True)
    assert [e.details["pattern"] for e in watermark.scan(buf.getvalue())] == ["sd1"]
    assert watermark.scan(encode(img, "JPEG", quality=90)) == []
