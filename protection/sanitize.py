"""Decode once, note what metadata the source carried, and normalise pixels to sRGB RGB/RGBA.

Nothing from the source's metadata survives: derivatives are fresh encodes of bare pixels, and this module
only *reads* the metadata to explain (report) what was dropped and to honour EXIF orientation.
"""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageCms

from protection.sniff import corrupt

# EXIF orientation -> the transpose that undoes it (ImageOps.exif_transpose's table).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_GPS_IFD = 0x8825
_ORIENTATION = 0x0112
# Modes Pillow resamples well as they are (it premultiplies alpha for LA/RGBA, so no dark fringes).
_RESAMPLABLE = ("L", "LA", "RGB", "RGBA", "CMYK")
_SRGB = ImageCms.createProfile("sRGB")


def swaps_axes(orientation: int) -> bool:
    return orientation in (5, 6, 7, 8)


def decode(im: Image.Image, mime: str, min_long_edge: int) -> float:
    """Load the pixels, letting libjpeg decode at 1/2, 1/4 or 1/8 scale when the output is that small.

    Returns the draft scale used (1.0 = full). Any failure of the data becomes MediaRejected("corrupt").
    """
    scale = 1.0
    try:
        if mime == "image/jpeg":
            w, h = im.size
            ratio = min_long_edge / max(w, h)
            if ratio <= 0.5:  # draft only ever picks 1/2..1/8, never below the size asked for
                im.draft(None, (math.ceil(w * ratio), math.ceil(h * ratio)))
                scale = im.size[0] / w
        im.load()
    except Exception as exc:  # truncated, bad Huffman/zlib data, broken chunks: all the artist's file
        raise corrupt() from exc
    return scale


def is_animated(im: Image.Image, mime: str) -> bool:
    """Whether the image has more than one frame. Counting frames reads past the first one, where damaged data
    makes Pillow raise (IndexError from a GIF cut inside its second frame): that becomes MediaRejected("corrupt").
    A multi-picture JPEG (MPO) is not an animation: its extras are "mpf" in the inventory."""
    if mime == "image/jpeg":
        return False
    try:
        return bool(getattr(im, "is_animated", False))
    except Exception as exc:
        raise corrupt() from exc


def inventory(im: Image.Image, mime: str) -> tuple[list[str], int, bytes | None]:
    """(what metadata we are dropping, EXIF orientation 1..8, ICC profile bytes or None)."""
    info = im.info
    stripped: list[str] = []
    orientation = 1
    try:
        exif = im.getexif()  # also reads tiff:Orientation from XMP, as exif_transpose does
        orientation = int(exif.get(_ORIENTATION, 1) or 1)
        if info.get("exif") or len(exif):
            stripped.append("exif")
        if _GPS_IFD in exif:
            stripped.append("gps")
    except Exception:  # malformed EXIF is dropped anyway; it must not sink the upload
        stripped.append("exif")
    if orientation not in range(1, 9):
        orientation = 1
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        stripped.append("xmp")
    icc = info.get("icc_profile") or None
    if icc:
        stripped.append("icc")
    if "photoshop" in info:  # JPEG APP13: IPTC-IIM captions, keywords, bylines
        stripped.append("iptc")
    if "comment" in info:
        stripped.append("comment")
    text = [k for k in getattr(im, "text", {}) if k != "XML:com.adobe.xmp"] if mime == "image/png" else []
    if text:  # PNG tEXt/zTXt/iTXt, e.g. generator prompts
        stripped.append("text")
    apps = getattr(im, "applist", [])
    if any(marker == "APP11" and b"c2pa" in body for marker, body in apps):
        stripped.append("c2pa")
    if "mp" in info or "mpoffset" in info:  # MPO: extra embedded images (depth maps, previews)
        stripped.append("mpf")
    return stripped, orientation, icc


def resamplable(im: Image.Image) -> Image.Image:
    """Bring palette, bilevel and 16-bit modes into a mode that resizes without artefacts."""
    if im.mode in _RESAMPLABLE:
        return im
    if im.mode.startswith("I"):  # 16-bit greyscale PNG: scale 0..65535 down, don't clip
        return im.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGBA" if im.has_transparency_data else "RGB")


def to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, dict[str, Any]]:
    """Convert to sRGB RGB/RGBA (untagged output is read as sRGB everywhere). Run on the small image."""
    note: dict[str, Any] = {}
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            desc = ImageCms.getProfileDescription(src).strip()
            space = src.profile.xcolor_space.strip()
            note = {"description": desc, "converted": False}
            wanted = "CMYK" if im.mode == "CMYK" else "RGB"
            # "sRGB IEC61966-2.1", "sRGB built-in"...: already what browsers assume, skip the transform.
            if space == wanted and not (wanted == "RGB" and desc.lower().startswith("srgb")):
                out = "RGBA" if im.mode == "RGBA" else "RGB"
                # Built per image: lcms transforms keep a pixel cache that is not safe to share across threads.
                xf = ImageCms.buildTransform(
                    src, _SRGB, im.mode, out, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
                )
                im = ImageCms.applyTransform(im, xf)
                note["converted"] = True
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            note = {"description": "unreadable", "converted": False}
    if im.mode == "RGBA" and im.getchannel("A").getextrema()[0] == 255:
        im = im.convert("RGB")  # fully opaque: an alpha channel would only cost bytes
        note["opaque_alpha_dropped"] = True
    elif im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if im.mode == "LA" else "RGB")
    return im, note


def orient(im: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im
