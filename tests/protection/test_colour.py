"""Embedded ICC profiles: converted to sRGB (then dropped), never passed through to derivatives."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms

from protection import MediaPolicy, protect

D50 = (0.9642, 1.0, 0.8249)
# sRGB primaries, Bradford-adapted to D50 as ICC requires.
SRGB_COLORANTS = {b"rXYZ": (0.4361, 0.2225, 0.0139), b"gXYZ": (0.3851, 0.7169, 0.0971),
                  b"bXYZ": (0.1431, 0.0606, 0.7141)}


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))


def linear_rgb_icc(name: str = "Linear-gamma RGB test profile") -> bytes:
    """A minimal ICC v2 matrix/TRC display profile: sRGB primaries but gamma 1.0 (so mid grey shifts)."""
    ascii_name = name.encode() + b"\0"
    desc = (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_name)) + ascii_name
            + b"\0" * 8 + b"\0\0" + b"\0" * 68)
    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0100) + b"\0\0"  # gamma 1.0 as u8Fixed8
    tags = [(b"desc", desc), (b"wtpt", _xyz(*D50))]
    tags += [(sig, _xyz(*v)) for sig, v in SRGB_COLORANTS.items()]
    tags += [(sig, curv) for sig in (b"rTRC", b"gTRC", b"bTRC")]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + _xyz(*D50)[8:] + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_handmade_profile_is_usable() -> None:
    prof = ImageCms.ImageCmsProfile(io.BytesIO(linear_rgb_icc()))
    assert "Linear-gamma RGB" in ImageCms.getProfileDescription(prof)


def test_non_srgb_profile_is_converted_to_srgb_and_dropped() -> None:
    src = Image.new("RGB", (300, 200), (128, 128, 128))
    out = io.BytesIO()
    src.save(out, "PNG", icc_profile=linear_rgb_icc())
    res = protect(out.getvalue(), MediaPolicy(formats=("webp",)))

    assert "icc" in res.report["stripped"]
    assert res.report["colour"]["converted"] is True
    assert "Linear-gamma RGB" in res.report["colour"]["description"]
    im = Image.open(io.BytesIO(res.derivatives[0].data))
    assert "icc_profile" not in im.info
    # Linear 0.502 encodes to ~0.735 in sRGB: ~188, clearly not the untouched 128.
    assert all(abs(c - 188) <= 4 for c in im.convert("RGB").getpixel((50, 50)))


def test_srgb_profile_needs_no_conversion_but_is_still_not_embedded() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (128, 64, 32)).save(out, "JPEG", quality=95, icc_profile=srgb)
    res = protect(out.getvalue(), MediaPolicy(formats=("jpeg",)))
    assert res.report["colour"]["converted"] is False and "icc" in res.report["stripped"]
    im = Image.open(io.BytesIO(res.derivatives[0].data))
    assert "icc_profile" not in im.info
    assert all(abs(a - b) <= 4 for a, b in zip(im.getpixel((60, 45)), (128, 64, 32), strict=True))


def test_unreadable_profile_is_ignored_not_fatal() -> None:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 20, 30)).save(out, "PNG", icc_profile=b"not an icc profile at all")
    res = protect(out.getvalue())
    assert res.report["colour"]["description"] == "unreadable"
