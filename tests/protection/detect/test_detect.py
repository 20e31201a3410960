"""detect() end to end: combined verdicts, the clean set, and what re-encoding does to each layer."""

import io

import numpy as np
from PIL import Image

from protection.detect import Verdict, detect, dwtdct
from tests.protection.detect.fixtures import (
    A1111_PARAMS,
    SDXL_BITS,
    drawing,
    encode,
    exif_with,
    photo,
    png_text,
    xmp_packet,
)


def clean_set() -> list[bytes]:
    files = []
    for seed in range(4):
        p, d = photo(800, 600, seed=seed, noise=3 + 3 * seed), drawing(700, 500, seed=seed)
        files += [encode(p, "JPEG", quality=90, exif=exif_with(software="GIMP 2.10")), encode(p, "PNG"),
                  encode(d, "PNG"), encode(d, "WEBP", lossless=True), encode(p, "WEBP", quality=85),
                  png_text(d, {"Software": "Krita 5.2", "Title": "Sketch", "Author": "Ann"})]
    return files


def test_clean_set_has_no_false_positives():
    for data in clean_set():
        verdict = detect(data)
        assert (verdict.score, verdict.label) == (0.0, "no_signal"), verdict


def test_layers_combine_and_explain():
    marked = dwtdct.encode(photo(768, 768, seed=5).astype(np.float32), SDXL_BITS, "float")
    data = png_text(marked, {"parameters": A1111_PARAMS, "XML:com.adobe.xmp": xmp_packet(
        "trainedAlgorithmicMedia").decode()}, itxt=True)
    verdict = detect(data)
    assert verdict.label == "ai_generated"
    assert {e.layer for e in verdict.evidence} == {"iptc", "generator", "watermark"}
    assert verdict.score > 0.999
    assert all(e.finding and isinstance(e.details, dict) for e in verdict.evidence)
    assert Verdict.from_json(verdict.to_json()) == verdict


def test_re_encoded_copy_is_undetectable_by_metadata_layers():
    """Documented limitation: a Pillow re-encode (what any screenshot or "save as" does) drops text chunks,
    XMP and EXIF, and a resize drops the watermark, so the same AI image comes back "no_signal"."""
    marked = dwtdct.encode(photo(768, 768, seed=5).astype(np.float32), SDXL_BITS, "float")
    original = png_text(marked, {"parameters": A1111_PARAMS})
    assert detect(original).label == "ai_generated"
    im = Image.open(io.BytesIO(original))
    assert detect(encode(im.convert("RGB"), "JPEG", quality=90)).label == "no_signal"
    # a PNG re-save keeps the pixels (watermark found) but not the text chunk
    resaved = detect(encode(im, "PNG"))
    assert [e.layer for e in resaved.evidence] == ["watermark"]
