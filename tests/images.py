"""Test images drawn with Pillow, and hostile files crafted byte by byte."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw


def jpeg(width: int = 800, height: int = 600, colour: tuple[int, int, int] = (200, 80, 60), exif=None) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 4, height // 4, width // 2, height // 2], fill=(30, 60, 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def png(width: int = 300, height: int = 200, mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (10, 200, 120, 180) if mode == "RGBA" else (10, 200, 120))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny, valid-looking PNG whose header declares an enormous image."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def corrupt_jpeg() -> bytes:
    data = jpeg(400, 300)
    return data[:200] + b"\x00garbage" * 50  # valid JPEG start, broken body
