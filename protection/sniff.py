"""Cheap checks before any pixel is decoded: emptiness, byte size, content type, declared pixel count."""

from __future__ import annotations

import io
import warnings

from PIL import Image

from protection.media import MediaPolicy, MediaRejected

# MIME type -> the one Pillow plugin allowed to parse it (never let Pillow guess among ~40 formats).
PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}


def image_type_of(data: bytes) -> str | None:
    """MIME type from the magic bytes (never from a file name or a client's Content-Type); None if not ours."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def sniff_image_type(data: bytes) -> str:
    """image_type_of(), refusing anything else with a reason the uploader can read."""
    mime = image_type_of(data)
    if mime is not None:
        return mime
    raise MediaRejected(
        "unsupported_type", "This file is not an image we can use. Please upload a JPEG, PNG, WebP or GIF."
    )


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KB", 41943040 -> "40 MB" (binary units, as file managers show them)."""
    value, unit = float(n), "bytes"
    for bigger in ("KB", "MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{n} bytes" if unit == "bytes" else f"{value:.1f}".removesuffix(".0") + f" {unit}"


def check_bytes(data: bytes, policy: MediaPolicy) -> str:
    """Empty, then too large, then sniff: the order costs nothing and gives the most useful refusal."""
    if not data:
        raise MediaRejected("empty", "The file is empty, so there is no image to publish.")
    if len(data) > policy.max_bytes:
        size, limit = human_bytes(len(data)), human_bytes(policy.max_bytes)
        message = (f"The file is {size}; the limit is {limit}." if size != limit
                   else f"The file is just over the {limit} limit.")
        raise MediaRejected("too_large", message)
    return sniff_image_type(data)


def _too_many(size: tuple[int, int] | None, limit: int) -> MediaRejected:
    what = f"is {size[0]}\u00d7{size[1]} pixels" if size else "has far too many pixels"
    return MediaRejected("too_many_pixels", f"The image {what}; the limit is {limit / 1e6:g} megapixels.")


def open_guarded(data: bytes, mime: str, policy: MediaPolicy) -> Image.Image:
    """Parse the header only (Image.open is lazy) and refuse a pixel bomb before it is allocated."""
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below is the authority; Pillow's softer warning is noise here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[PILLOW_FORMAT[mime]])
    except Image.DecompressionBombError:
        # Beyond Pillow's own hard limit (2x MAX_IMAGE_PIXELS), raised from the header alone.
        limit = min(policy.max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or policy.max_pixels))
        raise _too_many(_declared_size(data, mime), limit) from None
    except Exception as exc:  # unparseable header (UnidentifiedImageError, struct.error, ...): bad data
        raise corrupt() from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        raise corrupt()
    if width * height > policy.max_pixels:
        raise _too_many((width, height), policy.max_pixels)
    return im


def _declared_size(data: bytes, mime: str) -> tuple[int, int] | None:
    """The header's dimensions via the plugin's own class, which (unlike Image.open) skips the bomb check.
    Still lazy: nothing is decoded. Only for the artist's message, so any failure just means "unknown"."""
    try:
        factory = Image.OPEN[PILLOW_FORMAT[mime]][0]
        return factory(io.BytesIO(data), "").size
    except Exception:
        return None


def corrupt() -> MediaRejected:
    return MediaRejected(
        "corrupt", "The image data is damaged or incomplete, so it cannot be read. Please export it again."
    )


def probe(data: bytes, policy: MediaPolicy) -> tuple[str, int, int]:
    """Every check that needs no decoding — empty, size, type, declared pixel count — for refusing an upload
    at once with a reason, before anything is stored. Returns (mime, width, height)."""
    mime = check_bytes(data, policy)
    with open_guarded(data, mime, policy) as im:
        width, height = im.size
    return mime, width, height


# Bytes a pixel costs at the peak of detect() or protect(), measured with bench/hostile.py on 49 MP PNGs:
# Pillow keeps 4 bytes a pixel decoded; protect() adds about a third of that while making its first resize,
# detection a few strips. 16-bit and float sources pass through a 4-byte integer copy on the way to 8 bits.
_PEAK_BYTES_PER_PIXEL = 6
_PEAK_BYTES_PER_PIXEL_WIDE = 10
_PEAK_FIXED = 24 * 1024 * 1024  # encoders, the small derivatives, the interpreter's own churn


def peak_memory(data: bytes, policy: MediaPolicy) -> int:
    """An upper estimate of the memory detect() + protect() need for this file (they run one after the other),
    from the header alone: what a worker reserves from its memory budget before decoding. A file that fails
    the header checks costs only the fixed part (protect() refuses it before decoding)."""
    try:
        mime = check_bytes(data, policy)
        with open_guarded(data, mime, policy) as im:
            pixels, mode = im.width * im.height, im.mode
    except MediaRejected:
        return _PEAK_FIXED
    per_pixel = _PEAK_BYTES_PER_PIXEL_WIDE if mode.startswith(("I", "F")) else _PEAK_BYTES_PER_PIXEL
    return pixels * per_pixel + _PEAK_FIXED
