"""Which layers could have fired on this image (issue 16 item 10), so "no AI signal" is never bare.

Every metadata layer dies on a re-encode that drops metadata, the dwtDct watermark dies on a chroma-subsampled
JPEG, a lossy WebP, a palette GIF or any resize, and the stealth LSBs die on anything lossy except WebP's alpha
plane (WebP stores alpha losslessly even in lossy files). What the file itself shows decides it here: the
container, its metadata, JPEG chroma subsampling, WebP lossless or not, size. Each entry says whether the
layer applied and why, in words for the artist and the moderator (docs/protection.md).
"""

from __future__ import annotations

from protection.detect import dwtdct
from protection.detect.source import Source

# (key, name shown on pages); "stealth" is the part of the generator layer that reads pixel LSBs.
CHECKS = (("c2pa", "C2PA provenance"), ("iptc", "IPTC source type"), ("generator", "Generator metadata"),
          ("stealth", "Hidden pixel metadata (NovelAI)"), ("watermark", "Invisible watermark"),
          ("classifier", "Classifier"))
NAMES = dict(CHECKS)


def _entry(key: str, applies: bool, why: str) -> dict:
    return {"check": key, "name": NAMES[key], "applies": applies, "why": why}


def _has_c2pa(data: bytes) -> bool:
    # JUMBF boxes (JPEG APP11, WebP "C2PA" chunk) are labelled "jumb"; PNG stores the store in a caBX chunk.
    return b"jumb" in data or b"caBX" in data


def _jpeg_subsampling(src: Source) -> int:
    """-1 unknown, 0 for 4:4:4, 1 for 4:2:2, 2 for 4:2:0 (Pillow's numbering)."""
    from PIL import JpegImagePlugin

    try:
        return int(JpegImagePlugin.get_sampling(src.image))
    except Exception:
        return -1


def _webp_lossless(data: bytes) -> bool:
    return b"VP8L" in data[12:4096] and b"VP8 " not in data[12:4096]


def _webp_alpha(data: bytes) -> bool:
    return b"ALPH" in data[12:4096] or _webp_lossless(data)


def assess(src: bytes | Source, *, classifier: bool = False) -> list[dict]:
    src = Source.of(src)
    data, mime, im = src.data, src.mime, src.image
    if im is None:
        return [_entry(key, False, "not a readable image") for key, _ in CHECKS]
    metadata = bool(src.xmp or src.exif or src.text)
    no_meta = "no metadata in the file (stripped by a re-encode, export or screenshot)"
    out = [
        _entry("c2pa", _has_c2pa(data), "the file carries a C2PA manifest" if _has_c2pa(data) else
               "no C2PA manifest in the file (any re-encode or screenshot drops it)"),
        _entry("iptc", bool(src.xmp), "the file carries XMP" if src.xmp else "no XMP metadata in the file"),
        _entry("generator", metadata, "the file carries text metadata or EXIF" if metadata else no_meta),
    ]
    lossless = mime == "image/png" or (mime == "image/webp" and _webp_lossless(data))
    if lossless:
        out.append(_entry("stealth", True, "lossless file: pixel low bits are intact"))
    elif mime == "image/webp" and _webp_alpha(data):
        out.append(_entry("stealth", True, "lossy WebP keeps its alpha plane lossless: the alpha variant survives"))
    else:
        kind = {"image/jpeg": "JPEG", "image/gif": "palette GIF", "image/webp": "lossy WebP"}.get(mime, "lossy")
        out.append(_entry("stealth", False, f"{kind}: pixel low bits are not kept"))
    out.append(_watermark(src, lossless))
    out.append(_entry("classifier", classifier, "applies to any image (a statistical guess)" if classifier else
                      "no classifier is configured on this server"))
    return out


def _watermark(src: Source, lossless: bool) -> dict:
    width, height = src.image.size if src.image is not None else (0, 0)
    if width * height < dwtdct.MIN_PIXELS:
        return _entry("watermark", False, "smaller than 256×256: the embedders do not mark such images")
    if src.too_large:
        return _entry("watermark", False, "too large for the watermark check; skipped")
    if lossless:
        return _entry("watermark", True, "lossless file: a watermark would still be in its pixels (unless resized)")
    if src.mime == "image/jpeg":
        if _jpeg_subsampling(src) == 0:
            return _entry("watermark", True, "JPEG without chroma subsampling: a watermark survives high quality")
        return _entry("watermark", False, "re-encoded JPEG (chroma subsampled): watermark layers not applicable")
    if src.mime == "image/webp":
        return _entry("watermark", False, "lossy WebP (chroma subsampled): watermark layers not applicable")
    return _entry("watermark", False, "palette GIF: watermark layers not applicable")
