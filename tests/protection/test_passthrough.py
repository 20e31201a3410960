"""A remote work that says it is cloaked keeps the origin's pixels: metadata stripped losslessly, ours stamped."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from protection import MediaPolicy, protect, read_xmp
from tests.protection.cloak.fixtures import painting


def encoded(fmt: str, **extra) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "Stable Diffusion"  # Software
    Image.fromarray(painting(640, 400)).save(buf, fmt, quality=90, exif=exif.tobytes(), **extra)
    return buf.getvalue()


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_cloaked_remote_jpeg_and_webp_are_served_pixel_for_pixel():
    for fmt, kind in (("JPEG", "jpeg"), ("WEBP", "webp")):
        source = encoded(fmt)
        policy = MediaPolicy(sizes=(640, 200), keep_pixels=True, noai=True)
        result = protect(source, policy)
        top = [d for d in result.derivatives if d.long_edge == 640]
        assert [d.format for d in top] == [kind]  # only the origin's own file at the top size
        assert np.array_equal(pixels(top[0].data), pixels(source))  # not re-encoded
        assert b"SecretCam" not in top[0].data and b"Stable Diffusion" not in top[0].data
        assert "DMI-PROHIBITED" in read_xmp(top[0].data)  # our NoAI marking is still stamped
        assert result.report["kept_origin_pixels"] is True
        assert {d.format for d in result.derivatives if d.long_edge == 200} == {"webp", "jpeg"}


def test_without_the_flag_the_top_size_is_re_encoded():
    source = encoded("JPEG")
    result = protect(source, MediaPolicy(sizes=(640,)))
    top = result.best("jpeg")
    assert not np.array_equal(pixels(top.data), pixels(source))  # what would blur a cloak away
    assert "kept_origin_pixels" not in result.report


def test_a_png_is_kept_as_lossless_webp():
    buf = io.BytesIO()
    Image.fromarray(painting(300, 200)).save(buf, "PNG")
    result = protect(buf.getvalue(), MediaPolicy(sizes=(300,), keep_pixels=True))
    assert [d.format for d in result.derivatives] == ["webp"]
    assert np.array_equal(pixels(result.derivatives[0].data), painting(300, 200))
