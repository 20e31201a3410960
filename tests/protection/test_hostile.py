"""Hostile and broken uploads: each is refused with a machine code AND a sentence for the artist."""

from __future__ import annotations

import io
import random
import re
import resource
import struct
import zlib

import pytest
from PIL import Image

from protection import MediaPolicy, MediaRejected, protect, sniff_image_type


def encoded(fmt: str, size: tuple[int, int] = (256, 192), **kw: object) -> bytes:
    im = Image.merge("RGB", (Image.linear_gradient("L"), Image.radial_gradient("L"),
                             Image.effect_noise((256, 256), 40))).resize(size)
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A structurally valid PNG (correct CRCs) whose header claims a huge canvas, backed by a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def gif_declaring(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b";"


def rejected(data: bytes, policy: MediaPolicy = MediaPolicy()) -> MediaRejected:
    with pytest.raises(MediaRejected) as info:
        protect(data, policy)
    err = info.value
    # A sentence a person can read: capitalised, ends with a full stop, no internals leaking.
    assert re.fullmatch(r"[A-Z][^\n]{15,200}[.]", err.message), err.message
    assert not re.search(r"Error|Traceback|PIL|Pillow|errno|0x", err.message), err.message
    assert str(err) == err.message
    return err


def test_empty() -> None:
    assert rejected(b"").code == "empty"


def test_over_the_byte_cap_is_refused_before_anything_else() -> None:
    data = encoded("PNG")
    err = rejected(data, MediaPolicy(max_bytes=len(data) - 1))
    assert err.code == "too_large" and "limit" in err.message
    # Size comes before sniffing: junk over the cap is "too large", not "unsupported".
    assert rejected(b"x" * 5000, MediaPolicy(max_bytes=4096)).code == "too_large"


def test_too_large_message_uses_human_units() -> None:
    err = rejected(b"\0" * (3 * 1024 * 1024), MediaPolicy(max_bytes=2 * 1024 * 1024))
    assert "3 MB" in err.message and "2 MB" in err.message
    barely = rejected(b"\0" * (2 * 1024 * 1024 + 1), MediaPolicy(max_bytes=2 * 1024 * 1024))
    assert barely.message == "The file is just over the 2 MB limit."


@pytest.mark.parametrize("data", [
    b"hello, I am a text file named picture.png\n",
    b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
    b"%PDF-1.7\n",
    b"BM" + b"\0" * 100,  # BMP: Pillow could read it, but we don't accept it
])
def test_content_not_file_name_decides_the_type(data: bytes) -> None:
    err = rejected(data)
    assert err.code == "unsupported_type" and "JPEG, PNG, WebP or GIF" in err.message


def test_sniff_by_magic_bytes() -> None:
    assert sniff_image_type(encoded("JPEG")) == "image/jpeg"
    assert sniff_image_type(encoded("PNG")) == "image/png"
    assert sniff_image_type(encoded("WEBP")) == "image/webp"
    assert sniff_image_type(encoded("GIF")) == "image/gif"
    with pytest.raises(MediaRejected):
        sniff_image_type(b"RIFF\0\0\0\0WAVEfmt ")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.mark.parametrize("width,height", [(50000, 50000), (10000, 10000), (8000, 8000)])
def test_png_pixel_bomb_refused_from_its_header(width: int, height: int) -> None:
    # 50000² is past Pillow's own hard limit, 10000² in its warning band, 8000² only past ours (60 MP).
    before = _max_rss_mb()
    err = rejected(png_declaring(width, height))
    assert err.code == "too_many_pixels"
    assert f"{width}\u00d7{height} pixels" in err.message and "60 megapixels" in err.message
    assert _max_rss_mb() - before < 50  # nothing near width*height*3 bytes was ever allocated


def test_gif_pixel_bomb_refused_from_its_header() -> None:
    err = rejected(gif_declaring(65535, 65535))
    assert err.code == "too_many_pixels" and "65535\u00d765535" in err.message


def test_policy_pixel_limit_is_honoured() -> None:
    err = rejected(encoded("JPEG", (400, 300)), MediaPolicy(max_pixels=100_000))
    assert err.code == "too_many_pixels" and "0.1 megapixels" in err.message


def test_corrupt_jpeg() -> None:
    good = encoded("JPEG", quality=90)
    garbage = good[:3] + bytes(random.Random(1).randrange(256) for _ in range(len(good) - 3))
    assert rejected(garbage).code == "corrupt"


def test_jpeg_with_garbled_header_tables() -> None:
    assert rejected(b"\xff\xd8\xff\xdb\x00\x43" + b"\x07" * 20).code == "corrupt"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_files(fmt: str) -> None:
    good = encoded(fmt)
    assert rejected(good[: len(good) // 2]).code == "corrupt"


def test_png_with_a_bad_crc() -> None:
    good = bytearray(encoded("PNG"))
    good[29] ^= 0xFF  # inside IHDR's CRC
    assert rejected(bytes(good)).code == "corrupt"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_random_byte_damage_never_escapes_as_another_exception(fmt: str) -> None:
    good = encoded(fmt, (64, 48))
    rng = random.Random(fmt)
    for _ in range(60):
        bad = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        try:
            protect(bytes(bad[: rng.randint(len(bad) // 3, len(bad))]), MediaPolicy(sizes=(64,)))
        except MediaRejected as err:
            assert err.code in MediaRejected.CODES


def test_a_gif_cut_inside_its_second_frame_is_refused_as_corrupt() -> None:
    # Found by the random-damage test above: Pillow's frame count (is_animated) reads past the end of a second
    # frame's descriptor and raises IndexError, which escaped the pipeline instead of becoming a refusal.
    good = encoded("GIF", (64, 48))
    assert good.endswith(b";")
    cut = good[:-1] + b"," + struct.pack("<HHHHB", 0, 0, 64, 48, 0)  # a descriptor, then no image data
    assert rejected(cut).code == "corrupt"
