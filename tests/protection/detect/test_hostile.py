"""Hostile input: every layer and detect() return a verdict, never raise, and never flag garbage as AI."""

import struct
import zlib

import numpy as np
import pytest

from protection.detect import detect, generators, iptc, provenance, watermark
from tests.images import corrupt_jpeg, png_bomb
from tests.protection.detect.fixtures import A1111_PARAMS, encode, photo, png_text


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def with_chunk(png: bytes, kind: bytes, data: bytes) -> bytes:
    return png[:33] + chunk(kind, data) + png[33:]  # right after IHDR


PLAIN_PNG = encode(photo(320, 240), "PNG")
HOSTILE = {
    "empty": b"",
    "text": b"hello, I am not an image",
    "random": np.random.default_rng(0).bytes(5000),
    "png_magic_only": b"\x89PNG\r\n\x1a\n",
    "png_bomb_header": png_bomb(),
    "corrupt_jpeg": corrupt_jpeg(),
    "truncated_png": png_text(photo(400, 300), {"parameters": A1111_PARAMS})[:1500],
    "truncated_jpeg": encode(photo(400, 300), "JPEG")[:2000],
    "huge_text_chunk": with_chunk(PLAIN_PNG, b"tEXt", b"Comment\0" + b"x" * 8_000_000),
    "ztxt_bomb": with_chunk(PLAIN_PNG, b"zTXt", b"parameters\0\0" + zlib.compress(b"Steps: 1, " * 10_000_000)),
    "chunk_length_lies": PLAIN_PNG[:33] + struct.pack(">I", 0x7FFFFFFF) + b"tEXtkey\0value",
    "many_tiny_chunks": PLAIN_PNG[:33] + chunk(b"tEXt", b"a\0b") * 50_000 + PLAIN_PNG[33:],
    "bad_itxt": with_chunk(PLAIN_PNG, b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0\x78\x9cbroken"),
    "bad_exif": encode(photo(200, 100), "JPEG")[:2] + b"\xff\xe1\x00\x10Exif\0\0MM\0*\xff\xff\xff\xff"
    + encode(photo(200, 100), "JPEG")[2:],
    "gif": encode(photo(300, 300), "GIF"),
    "webp_truncated": encode(photo(400, 300), "WEBP")[:300],
    "json_bomb_prompt": png_text(photo(64, 64), {"prompt": "[" * 100_000, "workflow": "{" * 100_000}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_never_raises(name):
    data = HOSTILE[name]
    for layer in (provenance.scan, iptc.scan, generators.scan, watermark.scan):
        assert isinstance(layer(data), list)
    verdict = detect(data)
    # The truncated A1111 file and the zTXt bomb still carry a chunk named `parameters`: a weak hint (0.4).
    assert verdict.label in ("no_signal", "ai_generated")
    assert 0.0 <= verdict.score <= 1.0
    if name not in ("truncated_png", "ztxt_bomb"):
        assert verdict.label == "no_signal"


def test_zip_bomb_is_capped_but_still_read():
    (e,) = generators.scan(HOSTILE["ztxt_bomb"])
    assert "parameters" in e.finding  # read up to the 1 MiB cap, recognised, no 100 MB allocation
