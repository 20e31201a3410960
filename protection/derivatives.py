"""Sizes, resizing, encoding and the blurhash of the public derivatives."""

from __future__ import annotations

import io
import math
from concurrent.futures import Executor

import blurhash
from PIL import Image

from protection.media import MediaPolicy

CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
# 3.0: reduce() by an integer factor first, then Lanczos; Pillow documents the result as practically
# indistinguishable from plain Lanczos, and it is much faster for big reductions.
REDUCING_GAP = 3.0
# Large resizes are split into horizontal bands resized on several threads.
_BANDS = 4
_BAND_MIN_PIXELS = 1_000_000
# Resampling colour next to transparent pixels needs premultiplied alpha (else dark fringes).
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
_PREMULTIPLIED_BANDS = 8  # one band at a time: memory, not speed, is what these bands are for
_LANCZOS_SUPPORT = 3.0


def plan_sizes(long_edge: int, sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    """[(slot, target long edge)], largest first. Never upscale: slots above the source are skipped,
    except the smallest of them, which carries the source at its own size (so the best copy is kept and
    there is always at least one derivative)."""
    slots = sorted(set(sizes), reverse=True)
    plan = [(s, s) for s in slots if s < long_edge]
    above = [s for s in slots if s >= long_edge]
    if above:
        plan.insert(0, (min(above), long_edge))
    return plan


def fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """Dimensions with the given long edge, aspect kept, never below 1 px."""
    if width >= height:
        return long_edge, max(1, round(height * long_edge / width))
    return max(1, round(width * long_edge / height)), long_edge


def resize(im: Image.Image, size: tuple[int, int], pool: Executor | None = None) -> Image.Image:
    if im.size == size:
        return im
    if im.mode in _PREMULTIPLIED and im.width * im.height >= _BAND_MIN_PIXELS:
        return _resize_premultiplied(im, size)
    ratio = max(im.width / size[0], im.height / size[1])
    # Bands only where reducing_gap does no integer reduce() first (ratio < 2 x gap): reduce() boxes snap
    # to its factor, which could leave faint seams between bands.
    if pool is None or size[0] * size[1] < _BAND_MIN_PIXELS or ratio >= 2 * REDUCING_GAP:
        return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    return _resize_in_bands(im, size, pool)


def _resize_premultiplied(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resize of an image with alpha, band by band, premultiplying only the source rows each band
    reads. Pillow would premultiply a copy of the whole source (twice the decoded size in memory); here the
    extra memory is one band. Each band crops its rows plus the filter's reach, so its weights, and so its
    pixels, are those of the unbanded resize (the crop shifts every window by the same whole number)."""
    w, h = size
    scale = im.height / h
    reach = math.ceil(_LANCZOS_SUPPORT * max(scale, 1.0)) + 2
    edges = [h * i // _PREMULTIPLIED_BANDS for i in range(_PREMULTIPLIED_BANDS + 1)]
    out = Image.new(im.mode, size)
    for y0, y1 in zip(edges, edges[1:], strict=False):
        if y0 == y1:
            continue
        top, bottom = max(0, math.floor(y0 * scale) - reach), min(im.height, math.ceil(y1 * scale) + reach)
        rows = im.crop((0, top, im.width, bottom)).convert(_PREMULTIPLIED[im.mode])
        rows = rows.resize((im.width, y1 - y0), Image.Resampling.LANCZOS,
                           box=(0, y0 * scale - top, im.width, y1 * scale - top))
        out.paste(rows.resize((w, y1 - y0), Image.Resampling.LANCZOS).convert(im.mode), (0, y0))
    return out


def _resize_in_bands(im: Image.Image, size: tuple[int, int], pool: Executor) -> Image.Image:
    """Lanczos resize on several threads (Pillow releases the GIL while resampling).

    Each horizontal band is resized on its own: a vertical pass restricted to its rows with `box` (which
    still reads the source rows beyond the box that the filter needs), then a horizontal pass. The pass
    order is fixed on purpose: left to choose, Pillow picks the order per call by the size of its
    temporary image, and bands resized in different orders would differ by a few levels at hard edges.
    With one order the bands join exactly (tests compare with the same passes done unbanded).
    """
    w, h = size
    scale = im.height / h
    edges = [h * i // _BANDS for i in range(_BANDS + 1)]
    mode = im.mode
    if mode in _PREMULTIPLIED:  # small images only (see resize): premultiply the whole source once
        im = im.convert(_PREMULTIPLIED[mode])

    def band(y0: int, y1: int) -> Image.Image:
        rows = im.resize((im.width, y1 - y0), Image.Resampling.LANCZOS, box=(0, y0 * scale, im.width, y1 * scale))
        return rows.resize((w, y1 - y0), Image.Resampling.LANCZOS)

    spans = list(zip(edges, edges[1:], strict=False))
    futures = [pool.submit(band, y0, y1) for y0, y1 in spans[:-1]]
    last = band(*spans[-1])  # the calling thread works too instead of just waiting
    out = Image.new(im.mode, size)
    for (y0, _), fut in zip(spans, futures, strict=False):
        out.paste(fut.result(), (0, y0))
    out.paste(last, (0, spans[-1][0]))
    return out.convert(mode) if out.mode != mode else out


def webp_method(pixels: int) -> int:
    # The method (effort) is by far the largest cost of a WebP encode; on photos above ~1 MP, 2 costs a
    # third of the default 4 for a file within ~1% of its size. Small images get the full effort.
    return 2 if pixels >= 1_000_000 else 4


def flatten(im: Image.Image) -> Image.Image:
    """JPEG has no alpha: composite on white, which is what a light page would show."""
    if im.mode != "RGBA":
        return im
    bg = Image.new("RGB", im.size, (255, 255, 255))
    bg.paste(im, mask=im.getchannel("A"))
    return bg


def encode(im: Image.Image, fmt: str, policy: MediaPolicy, xmp: bytes) -> bytes:
    """Encode bare pixels plus our XMP. Only the options given here are written: no EXIF, ICC, comments."""
    out = io.BytesIO()
    # Image.save() keeps its options on the image object (encoderinfo), so two formats of one size saved
    # at once on two threads would swap settings: each save gets its own object (a ~5 ms copy at 2560).
    im = flatten(im) if fmt == "jpeg" and im.mode == "RGBA" else im.copy()
    if fmt == "webp":
        im.save(out, "WEBP", quality=policy.webp_quality, method=webp_method(im.width * im.height), xmp=xmp)
    else:
        # Progressive + optimised Huffman: ~15% smaller, and big images paint early on slow links.
        im.save(out, "JPEG", quality=policy.jpeg_quality, optimize=True, progressive=True, xmp=xmp)
    return out.getvalue()


def blurhash_of(im: Image.Image) -> str:
    """Blurhash from a <=32 px thumbnail: 4x3 components (3x4 for portrait), as Mastodon clients expect."""
    w, h = fit(im.width, im.height, min(32, max(im.size)))
    thumb = flatten(im.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0)).convert("RGB")
    x, y = (4, 3) if w >= h else (3, 4)
    return _encode_blurhash(thumb.tobytes(), w, h, x, y)


def _encode_blurhash(rgb: bytes, width: int, height: int, x: int, y: int) -> str:
    # blurhash.encode() reads pixels with Image.getdata(), deprecated in Pillow 13 and gone in 14, so call
    # the same C function it wraps with our raw RGB bytes (also skips building a Python list of pixels).
    ffi, lib = blurhash._ffi, blurhash._lib
    dest = ffi.new("char[]", 2 + 4 + (9 * 9 - 1) * 2 + 1)
    result = lib.create_hash_from_pixels(x, y, width, height, ffi.from_buffer("uint8_t[]", rgb), width * 3, dest)
    if result == ffi.NULL:
        raise ValueError("blurhash components must be within 1..9")
    return ffi.string(result).decode("ascii")
