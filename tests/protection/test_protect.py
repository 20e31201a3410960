"""protect() on well-formed uploads: orientation, stripping, alpha, sizes, colour, blurhash, report."""

from __future__ import annotations

import io
import json

import blurhash
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from protection import Derivative, MediaPolicy, ProtectResult, protect, sniff_image_type

RED, BLUE = (220, 20, 30), (20, 40, 220)


def photo(w: int, h: int, mode: str = "RGB") -> Image.Image:
    """Photo-like content (gradients + noise), so encoders and resizers do real work."""
    grad = Image.linear_gradient("L").resize((w, h))
    noise = Image.effect_noise((w, h), 30)
    rgb = Image.merge("RGB", (grad, Image.radial_gradient("L").resize((w, h)), Image.blend(grad, noise, 0.4)))
    return rgb.convert(mode)


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def opened(d: Derivative) -> Image.Image:
    im = Image.open(io.BytesIO(d.data))
    im.load()
    return im


def assert_close(pixel: tuple[int, ...], want: tuple[int, ...], tol: int = 40) -> None:
    assert all(abs(a - b) <= tol for a, b in zip(pixel, want, strict=False)), (pixel, want)


def test_exif_orientation_applied_and_all_exif_gps_comments_stripped() -> None:
    # Raw pixels are landscape with a red top-left corner; orientation 6 says "rotate 90° clockwise to view".
    raw = photo(1600, 1000)
    ImageDraw.Draw(raw).rectangle((0, 0, 199, 199), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "SecretCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.5)
    data = encode(raw, "JPEG", quality=92, exif=exif, comment=b"hidden studio note")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the fixture really carries GPS

    res = protect(data)

    assert isinstance(res, ProtectResult)
    assert (res.width, res.height) == (1000, 1600)  # swapped: the oriented source
    assert res.source_type == "image/jpeg"
    assert res.report["orientation"] == 6
    assert {"exif", "gps", "comment"} <= set(res.report["stripped"])
    assert [(d.long_edge, d.format) for d in res.derivatives] == [
        (2560, "webp"), (2560, "jpeg"), (1280, "webp"), (1280, "jpeg"), (400, "webp"), (400, "jpeg")
    ]
    for d in res.derivatives:
        im = opened(d)
        assert im.size == (d.width, d.height) and d.height > d.width
        assert "exif" not in im.info and not im.getexif() and "comment" not in im.info
        assert b"SecretCam" not in d.data and b"hidden studio note" not in d.data and b"Exif\0\0" not in d.data
        # 90° clockwise: the raw top-left corner is now the top-right one.
        assert_close(im.convert("RGB").getpixel((d.width - 3, 3)), RED)
    sizes = {(d.long_edge, d.width, d.height) for d in res.derivatives}
    assert sizes == {(2560, 1000, 1600), (1280, 800, 1280), (400, 250, 400)}


def test_png_alpha_kept_in_webp_and_flattened_on_white_in_jpeg() -> None:
    im = Image.new("RGBA", (600, 400), (0, 0, 0, 0))
    ImageDraw.Draw(im).ellipse((150, 50, 450, 350), fill=(*BLUE, 255))
    res = protect(encode(im, "PNG"), MediaPolicy(sizes=(400,)))

    webp, jpeg = res.derivatives
    assert (webp.format, webp.content_type, jpeg.format, jpeg.content_type) == (
        "webp", "image/webp", "jpeg", "image/jpeg")
    w = opened(webp)
    assert w.mode == "RGBA" and w.getpixel((2, 2))[3] == 0 and w.getpixel((200, 133))[3] == 255
    j = opened(jpeg)
    assert j.mode == "RGB"
    assert_close(j.getpixel((2, 2)), (255, 255, 255), tol=6)
    assert_close(j.getpixel((200, 133)), BLUE)


def test_opaque_alpha_channel_is_dropped() -> None:
    res = protect(encode(photo(500, 300, "RGBA"), "PNG"), MediaPolicy(sizes=(400,)))
    assert opened(res.derivatives[0]).mode == "RGB"
    assert res.report["colour"].get("opaque_alpha_dropped") is True


def test_small_image_is_never_upscaled_and_takes_the_fast_path() -> None:
    res = protect(encode(photo(300, 200), "PNG"))
    assert [(d.long_edge, d.format, d.width, d.height) for d in res.derivatives] == [
        (400, "webp", 300, 200), (400, "jpeg", 300, 200)]
    assert res.report["fast_path"] is True


def test_mid_size_keeps_full_resolution_in_the_smallest_slot_above_it() -> None:
    res = protect(encode(photo(1000, 750), "JPEG"))
    assert {(d.long_edge, d.width, d.height) for d in res.derivatives} == {(1280, 1000, 750), (400, 400, 300)}


def test_every_size_in_every_format_never_above_its_slot() -> None:
    res = protect(encode(photo(3000, 2000), "JPEG", quality=90))
    assert len(res.derivatives) == 6
    for d in res.derivatives:
        assert max(d.width, d.height) == d.long_edge
        assert abs(d.width / d.height - 1.5) < 0.01
        assert sniff_image_type(d.data) == d.content_type


def test_jpeg_draft_decoding_when_only_small_sizes_are_wanted() -> None:
    res = protect(encode(photo(3200, 2400), "JPEG"), MediaPolicy(sizes=(400,), formats=("jpeg",)))
    assert res.report["draft_scale"] < 1
    assert (res.width, res.height) == (3200, 2400)  # reported as the source, not the draft
    assert [(d.width, d.height) for d in res.derivatives] == [(400, 300)]


def test_blurhash_is_valid_and_follows_the_aspect() -> None:
    land = protect(encode(photo(640, 480), "JPEG")).blurhash
    port = protect(encode(photo(480, 640), "JPEG")).blurhash
    for h in (land, port):
        assert isinstance(h, str) and blurhash.is_valid_blurhash(h)
        assert len(h) == 28  # 4x3 / 3x4 components: 1 + 1 + 4 + 2 * 11
    assert land[0] != port[0]  # the first character encodes the component counts


def test_focal_point_is_the_centre_in_v1() -> None:
    assert protect(encode(photo(64, 48), "PNG")).focal_point == (0.0, 0.0)


def test_png_text_chunks_are_stripped_and_reported() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "masterpiece, by some artist, Steps: 20")
    info.add_itxt("Author", "someone@example.org")
    res = protect(encode(photo(200, 100), "PNG", pnginfo=info))
    assert "text" in res.report["stripped"]
    for d in res.derivatives:
        assert b"masterpiece" not in d.data and b"someone@example" not in d.data


@pytest.mark.parametrize("mode", ["P", "L", "LA", "1", "CMYK"])
def test_unusual_modes_become_rgb_or_rgba(mode: str) -> None:
    src = photo(120, 80).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    res = protect(encode(src, fmt), MediaPolicy(sizes=(400,)))
    modes = {opened(d).mode for d in res.derivatives}
    assert modes <= {"RGB", "RGBA"}


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    im = Image.new("I;16", (64, 64), 32768)  # mid grey in 16 bits
    res = protect(encode(im, "PNG"), MediaPolicy(formats=("webp",)))
    assert_close(opened(res.derivatives[0]).getpixel((10, 10)), (128, 128, 128), tol=4)


def test_animated_gif_keeps_the_first_frame_and_says_so() -> None:
    frames = [Image.new("P", (80, 60), i) for i in (1, 2, 3)]
    for f, colour in zip(frames, (RED, BLUE, (0, 255, 0)), strict=True):
        f.putpalette([0, 0, 0, *colour, *colour, *colour] * 64)
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    res = protect(data, MediaPolicy(formats=("jpeg",)))
    assert res.source_type == "image/gif" and res.report["animated"] is True
    assert "first frame" in res.report["note"]
    assert_close(opened(res.derivatives[0]).getpixel((40, 30)), RED, tol=12)


def test_webp_source_with_metadata_is_accepted_and_cleaned() -> None:
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° counter-clockwise to view
    exif.get_ifd(0x8825)[1] = "S"
    data = encode(photo(500, 250), "WEBP", exif=exif, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    res = protect(data, MediaPolicy(sizes=(400,)))
    assert res.source_type == "image/webp" and (res.width, res.height) == (250, 500)
    assert {"exif", "gps", "xmp"} <= set(res.report["stripped"])
    assert all(not Image.open(io.BytesIO(d.data)).getexif() for d in res.derivatives)


def test_report_explains_timings_and_sizes() -> None:
    rep = protect(encode(photo(900, 600), "JPEG")).report
    assert {"validate", "decode", "transform", "resize", "encode_sum", "total"} <= set(rep["timings_ms"])
    assert rep["sizes"] == [{"slot": 1280, "long_edge": 900}, {"slot": 400, "long_edge": 400}]
    assert rep["source"]["type"] == "image/jpeg" and rep["bytes_out"] > 0
    assert json.loads(json.dumps(rep)) == rep  # the worker stores it as JSON


def test_bad_policy_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        MediaPolicy(formats=("gif",))
    with pytest.raises(ValueError):
        MediaPolicy(sizes=())
    with pytest.raises(ValueError):
        MediaPolicy(sizes=(20000,))  # past WebP's 16383 px limit


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_banded_parallel_resize_has_no_seams(mode: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from PIL import ImageChops

    from protection.derivatives import resize

    # Hard edges crossing every band boundary: where a seam would show first.
    src = photo(3000, 2000, mode)
    ImageDraw.Draw(src).ellipse((500, 100, 2500, 1900), fill=RED)
    with ThreadPoolExecutor(2) as pool:
        banded = resize(src, (2560, 1707), pool)
    # The same two passes (vertical, then horizontal) on the whole image at once.
    whole = src.convert("RGBa") if mode == "RGBA" else src
    whole = whole.resize((3000, 1707), Image.Resampling.LANCZOS).resize((2560, 1707), Image.Resampling.LANCZOS)
    assert banded.mode == mode and banded.size == (2560, 1707)
    diff = ImageChops.difference(banded.convert("RGBa"), whole.convert("RGBa"))
    assert max(hi for _, hi in diff.getextrema()) <= 1  # float rounding of the per-band scale, no more


def test_concurrent_uploads_give_the_same_bytes_as_one_at_a_time() -> None:
    from concurrent.futures import ThreadPoolExecutor

    uploads = [encode(photo(1800 + 100 * i, 1200), "JPEG") for i in range(3)]
    alone = [[d.data for d in protect(u).derivatives] for u in uploads]
    with ThreadPoolExecutor(3) as callers:  # as the worker would: several protect() calls at once
        together = list(callers.map(lambda u: [d.data for d in protect(u).derivatives], uploads * 2))
    assert together == alone * 2


def test_multi_picture_jpeg_is_not_called_animated_and_its_extras_are_dropped() -> None:
    out = io.BytesIO()
    photo(300, 200).save(out, "MPO", save_all=True, append_images=[Image.new("RGB", (300, 200), 9)])
    res = protect(out.getvalue())
    assert res.source_type == "image/jpeg" and res.report["animated"] is False
    assert "mpf" in res.report["stripped"]


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (3000, 1)])
def test_degenerate_shapes(size: tuple[int, int]) -> None:
    res = protect(encode(Image.new("RGB", size, RED), "PNG"))
    assert blurhash.is_valid_blurhash(res.blurhash)
    assert all(min(d.width, d.height) == 1 for d in res.derivatives)
