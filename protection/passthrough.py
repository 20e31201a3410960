"""Keep the origin's pixels: for a remote work that says it is cloaked, re-encoding would blur the cloak
away, so its served-size file is kept as sent, minus its metadata (removed losslessly, segment by segment),
plus our XMP. Only JPEG and WebP are passed through; anything else is re-encoded as lossless WebP, which
keeps every pixel.
"""

from __future__ import annotations

from protection.mark import StampError, stamp_xmp

# JPEG segments that carry the picture or are needed to decode it right; everything else (EXIF, XMP, ICC,
# comments, maker notes, Photoshop IRBs) goes. APP14 "Adobe" says how to convert colours, so it stays.
_KEEP_JPEG = {0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xDB,
              0xDD, 0xE0}
_KEEP_WEBP = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}


def strip_jpeg(data: bytes) -> bytes:
    out, pos = [data[:2]], 2
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise StampError("a JPEG whose header segments end before the image data")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA:
            return b"".join(out) + data[pos:]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segment = data[pos:pos + 2 + length]
        if length < 2 or len(segment) != 2 + length:
            raise StampError("truncated JPEG segment")
        if marker in _KEEP_JPEG or (marker == 0xEE and segment[4:9] == b"Adobe"):
            out.append(segment)
        pos += 2 + length


def strip_webp(data: bytes) -> bytes:
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise StampError("truncated WebP chunk")
        if kind in _KEEP_WEBP:
            if kind == b"VP8X":  # clear the ICC, EXIF and XMP flags: those chunks are gone
                body = bytes([body[0] & ~0x2C & 0xFF]) + body[1:]
            chunks.append((kind, body))
        pos += 8 + length + (length & 1)
    body = b"".join(k + len(b).to_bytes(4, "little") + b + (b"\x00" if len(b) & 1 else b"") for k, b in chunks)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


def keep_pixels(data: bytes, mime: str, xmp: bytes) -> tuple[str, bytes] | None:
    """(format, bytes) of the origin's own file with only our metadata, or None if it is not JPEG/WebP."""
    if mime == "image/jpeg":
        return "jpeg", stamp_xmp(strip_jpeg(data), xmp)
    if mime == "image/webp":
        return "webp", stamp_xmp(strip_webp(data), xmp)
    return None
