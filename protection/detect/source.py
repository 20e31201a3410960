"""One parsed view of the input bytes, shared by every layer so the file is parsed and decoded only once.

Everything here is defensive: hostile or truncated files yield empty fields and a note in `problems`,
never an exception. Pixels are decoded lazily (the metadata layers never need them), only below MAX_PIXELS,
once, and read by the pixel layers in bounded pieces (`PixelView`): detection's peak memory is about one
decoded frame (4 bytes a pixel) plus a few MB, not the many float copies of a whole-image array.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from functools import cached_property
from typing import Any

import numpy as np
from PIL import Image

from protection.sniff import image_type_of

MAX_PIXELS = 50_000_000  # beyond this the pixel layers (watermark, stealth, classifier) are skipped
MAX_TEXT = 1 << 20  # a text chunk or XMP packet is cut at 1 MiB (decompressed): nothing honest is larger
MAX_CHUNKS = 10_000
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
XMP_PNG_KEY = "XML:com.adobe.xmp"


def inflate(blob: bytes, limit: int = MAX_TEXT) -> bytes:
    """zlib/gzip inflate that stops at `limit` bytes (a 1 KB zip bomb must not become 1 GB)."""
    try:
        d = zlib.decompressobj(47)  # 32 + 15: auto-detect zlib or gzip header
        return d.decompress(blob, limit)
    except zlib.error:
        return b""


def png_text_chunks(data: bytes) -> dict[str, str]:
    """tEXt/zTXt/iTXt chunks anywhere in the file (Pillow only sees those before IDAT until it decodes)."""
    out: dict[str, str] = {}
    pos, n = 8, 0
    while pos + 8 <= len(data) and n < MAX_CHUNKS:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        n += 1
        if kind == b"IEND":
            break
        if kind not in (b"tEXt", b"zTXt", b"iTXt") or b"\0" not in body:
            continue
        key_raw, rest = body.split(b"\0", 1)
        key = key_raw[:79].decode("latin-1")
        if kind == b"tEXt":
            text = rest[:MAX_TEXT].decode("latin-1")
        elif kind == b"zTXt":
            text = inflate(rest[1:]).decode("latin-1")
        else:  # iTXt: flag, method, language\0, translated keyword\0, text (UTF-8)
            if len(rest) < 2:
                continue
            compressed, parts = rest[0], rest[2:].split(b"\0", 2)
            if len(parts) < 3:
                continue
            raw = inflate(parts[2]) if compressed else parts[2][:MAX_TEXT]
            text = raw.decode("utf-8", "replace")
        out.setdefault(key, text)
    return out


def decode_user_comment(raw: Any) -> str:
    """EXIF UserComment: 8-byte charset header, then text (A1111 writes "UNICODE\\0" + UTF-16)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, bytes | bytearray):
        return ""
    head, body = bytes(raw[:8]), bytes(raw[8:MAX_TEXT])
    if head.startswith(b"UNICODE"):
        # Byte order is not stated; ASCII-range text has its zero bytes first in big-endian.
        even_zeros = body[0::2].count(0)
        odd_zeros = body[1::2].count(0)
        return body.decode("utf-16-be" if even_zeros >= odd_zeros else "utf-16-le", "replace").rstrip("\0")
    if head.startswith(b"ASCII") or head == b"\0" * 8:
        return body.decode("latin-1").rstrip("\0")
    return bytes(raw[:MAX_TEXT]).decode("utf-8", "replace").rstrip("\0")


class Source:
    """Lazy, shared view of one file. Build it with Source.of(data_or_source)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data) if not isinstance(data, bytes) else data
        self.mime = image_type_of(self.data)  # the media pipeline's check: both see the same four formats
        self.problems: list[str] = []

    @classmethod
    def of(cls, value: bytes | Source) -> Source:
        return value if isinstance(value, Source) else cls(value)

    @cached_property
    def image(self) -> Image.Image | None:
        """Header-only open with the one plugin the magic bytes name (Image.open is lazy)."""
        if self.mime is None:
            self.problems.append("not a JPEG, PNG, WebP or GIF file")
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im = Image.open(io.BytesIO(self.data), formats=[_PILLOW_FORMATS[self.mime]])
            im.size  # noqa: B018 - touch the header
            return im
        except Exception as exc:  # Pillow raises many types on hostile headers, incl. DecompressionBombError
            self.problems.append(f"image header unreadable ({type(exc).__name__})")
            return None

    @cached_property
    def text(self) -> dict[str, str]:
        """PNG text chunks (or GIF/JPEG comments under "comment")."""
        out: dict[str, str] = {}
        if self.mime == "image/png":
            out.update(png_text_chunks(self.data))
        im = self.image
        if im is not None:
            comment = im.info.get("comment")
            if isinstance(comment, bytes | str) and comment:
                out.setdefault("comment", _as_text(comment))
        return out

    @cached_property
    def exif(self) -> dict[str, str]:
        """The few EXIF text fields that name software or carry generation parameters."""
        out: dict[str, str] = {}
        im = self.image
        if im is None:
            return out
        try:
            exif = im.getexif()
            for tag, name in ((0x0131, "Software"), (0x010E, "ImageDescription"), (0x010F, "Make"),
                              (0x0110, "Model"), (0x013B, "Artist")):
                if tag in exif:
                    out[name] = _as_text(exif[tag])
            sub = exif.get_ifd(0x8769)
            if 0x9286 in sub:
                out["UserComment"] = decode_user_comment(sub[0x9286])
        except Exception as exc:
            self.problems.append(f"EXIF unreadable ({type(exc).__name__})")
        return {k: v for k, v in out.items() if v.strip()}

    @cached_property
    def xmp(self) -> str | None:
        """The XMP packet: PNG iTXt XML:com.adobe.xmp, JPEG APP1, WebP XMP chunk."""
        if self.mime == "image/png" and XMP_PNG_KEY in self.text:
            return self.text[XMP_PNG_KEY]
        im = self.image
        raw = im.info.get("xmp") if im is not None else None
        if raw is None and im is not None and self.mime == "image/webp":
            raw = im.info.get("XML:com.adobe.xmp")
        return _as_text(raw)[:MAX_TEXT] if raw else None

    @cached_property
    def too_large(self) -> bool:
        im = self.image
        return im is not None and im.size[0] * im.size[1] > MAX_PIXELS

    @cached_property
    def decoded(self) -> Image.Image | None:
        """The first frame, decoded once, as RGB or RGBA (RGBA when the file has alpha); None if undecodable.

        This is the only full-size copy of the pixels detection makes (Pillow keeps 4 bytes a pixel): the pixel
        layers read it through `view` in strips and columns, never as one big array.
        """
        im = self.image
        if im is None or self.too_large:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im.load()
                has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                wanted = "RGBA" if has_alpha else "RGB"
                return im if im.mode == wanted else im.convert(wanted)
        except Exception as exc:
            self.problems.append(f"pixels undecodable ({type(exc).__name__})")
            return None

    @cached_property
    def view(self) -> PixelView | None:
        decoded = self.decoded
        return None if decoded is None else ImageView(decoded)


class PixelView:
    """Read access to H x W x C uint8 pixels (C = 3 RGB or 4 RGBA) in pieces, so a layer's working set is a
    strip or a few columns, whatever the image size."""

    shape: tuple[int, int, int]

    def rows(self, top: int, bottom: int) -> np.ndarray:
        raise NotImplementedError

    def columns(self, count: int) -> np.ndarray:
        raise NotImplementedError


class ImageView(PixelView):
    """Pieces of a decoded Pillow image: each crop copies only that piece."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.shape = (image.height, image.width, len(image.getbands()))

    def rows(self, top: int, bottom: int) -> np.ndarray:
        return np.asarray(self.image.crop((0, top, self.image.width, min(bottom, self.image.height))))

    def columns(self, count: int) -> np.ndarray:
        return np.asarray(self.image.crop((0, 0, min(count, self.image.width), self.image.height)))


class ArrayView(PixelView):
    """The same interface over an array already in memory (tests, fixtures)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape  # type: ignore[assignment]

    def rows(self, top: int, bottom: int) -> np.ndarray:
        return self.array[top:bottom]

    def columns(self, count: int) -> np.ndarray:
        return self.array[:, :count]


def view_of(pixels: np.ndarray | PixelView | None) -> PixelView | None:
    return ArrayView(pixels) if isinstance(pixels, np.ndarray) else pixels


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value[:MAX_TEXT]).decode("utf-8", "replace").rstrip("\0")
    return str(value)[:MAX_TEXT] if value is not None else ""
