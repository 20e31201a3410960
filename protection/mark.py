"""XMP stamped into every derivative: NoAI (IPTC PLUS data-mining), provenance, creator and rights.

Pillow drops metadata when it re-encodes, so the packet is built once per upload and passed to every save.
"""

from __future__ import annotations

import io
import re
import zlib
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

from protection.media import MediaPolicy

DMI_PROHIBITED = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"

_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "cc": "http://creativecommons.org/ns#",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}


# A JPEG APP1 segment holds at most ~64 KB; artist-supplied text must never make the save fail.
_MAX_FIELD = 2000


# Characters XML 1.0 forbids; one in an artist's name would make the whole packet unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value[:_MAX_FIELD])


def _text(value: str) -> str:
    return escape(_clean(value))


def build_xmp(policy: MediaPolicy) -> bytes:
    """A small, self-contained RDF packet. Always present, even when it says nothing but "ours"."""
    props: list[str] = []
    if policy.noai:
        # IPTC Photo Metadata 2023.1: "Data Mining" = prohibited, the machine-readable NoAI reservation.
        props.append(f"<plus:DataMining>{DMI_PROHIBITED}</plus:DataMining>")
    if policy.digital_source_type:
        props.append(f"<Iptc4xmpExt:DigitalSourceType>{_text(policy.digital_source_type)}"
                     "</Iptc4xmpExt:DigitalSourceType>")
    if policy.creator:
        props.append(f"<dc:creator><rdf:Seq><rdf:li>{_text(policy.creator)}</rdf:li></rdf:Seq></dc:creator>")
    if policy.copyright:
        props.append('<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">'
                     f"{_text(policy.copyright)}</rdf:li></rdf:Alt></dc:rights>")
        props.append("<xmpRights:Marked>True</xmpRights:Marked>")
    if policy.license_url:
        props.append(f"<xmpRights:WebStatement>{_text(policy.license_url)}</xmpRights:WebStatement>")
        props.append(f"<cc:license rdf:resource={quoteattr(_clean(policy.license_url))}/>")
    ns = " ".join(f"xmlns:{p}={quoteattr(uri)}" for p, uri in _NAMESPACES.items())
    body = "\n   ".join(props)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="cara-fed">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="" {ns}>\n   {body}\n  </rdf:Description>\n'
        " </rdf:RDF>\n</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def read_xmp(data: bytes) -> str:
    """The XMP packet of an encoded image ("" if none), as Pillow reads it back."""
    with Image.open(io.BytesIO(data)) as im:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
    return xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else str(xmp)


# --- re-stamping encoded bytes ----------------------------------------------------------------------
# Anything that re-encodes an image (a cloaking engine, an external tool) drops our XMP. stamp_xmp() puts the
# packet back into JPEG, PNG or WebP bytes without touching the pixels, replacing any XMP already there.

_JPEG_XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_XMP_KEY = b"XML:com.adobe.xmp"


class StampError(ValueError):
    """The bytes are not a JPEG, PNG or WebP this module can stamp (or the packet cannot fit)."""


def stamp_xmp(data: bytes, xmp: bytes) -> bytes:
    """`data` with `xmp` as its only XMP packet. Raises StampError for anything else than JPEG/PNG/WebP."""
    if data[:3] == b"\xff\xd8\xff":
        return _stamp_jpeg(data, xmp)
    if data[:8] == _PNG_SIGNATURE:
        return _stamp_png(data, xmp)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _stamp_webp(data, xmp)
    raise StampError("not a JPEG, PNG or WebP image")


def _stamp_jpeg(data: bytes, xmp: bytes) -> bytes:
    payload = _JPEG_XMP_ID + xmp
    if len(payload) + 2 > 0xFFFF:
        raise StampError("the XMP packet is too large for one JPEG APP1 segment")
    head, pos = [data[:2]], 2
    insert_at = 1  # after SOI, or after APP0 (JFIF must stay the first segment)
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise StampError("a JPEG whose header segments end before the image data")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data, copied as it is
            break
        if not 0xC0 <= marker <= 0xFE:
            raise StampError(f"unexpected JPEG marker 0x{marker:02X} before the image data")
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        segment = data[pos:pos + 2 + length]
        if length < 2 or len(segment) != 2 + length:
            raise StampError("truncated JPEG segment")
        if not (marker == 0xE1 and segment[4:4 + len(_JPEG_XMP_ID)] == _JPEG_XMP_ID):
            head.append(segment)
            if marker == 0xE0 and len(head) == 2:
                insert_at = 2
        pos += 2 + length
    head.insert(insert_at, b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload)
    return b"".join(head) + data[pos:]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _stamp_png(data: bytes, xmp: bytes) -> bytes:
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag and translated keyword, then UTF-8.
    itxt = _png_chunk(b"iTXt", _PNG_XMP_KEY + b"\x00\x00\x00\x00\x00" + xmp)
    out, pos = [_PNG_SIGNATURE], 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, end = data[pos + 4:pos + 8], pos + 12 + length
        if end > len(data):
            raise StampError("truncated PNG chunk")
        if not (kind == b"iTXt" and data[pos + 8:pos + 8 + len(_PNG_XMP_KEY) + 1] == _PNG_XMP_KEY + b"\x00"):
            out.append(data[pos:end])
        if kind == b"IHDR":
            out.append(itxt)  # before any IDAT, as the XMP specification asks
        pos = end
    if len(out) < 3:
        raise StampError("a PNG without an IHDR chunk")
    return b"".join(out)


def _stamp_webp(data: bytes, xmp: bytes) -> bytes:
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise StampError("truncated WebP chunk")
        if kind != b"XMP ":
            chunks.append((kind, body))
        pos += 8 + length + (length & 1)
    if not chunks:
        raise StampError("a WebP without image data")
    if chunks[0][0] != b"VP8X":  # simple format: promote to extended, which alone may carry metadata
        with Image.open(io.BytesIO(data)) as im:
            width, height, alpha = im.width, im.height, "A" in im.getbands()
        flags = 0x10 if alpha else 0
        chunks.insert(0, (b"VP8X", bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                          + (height - 1).to_bytes(3, "little")))
    vp8x = chunks[0][1]
    chunks[0] = (b"VP8X", bytes([vp8x[0] | 0x04]) + vp8x[1:])  # the XMP flag
    chunks.append((b"XMP ", xmp))  # last, after the image data and any EXIF
    body = b"".join(kind + len(b).to_bytes(4, "little") + b + (b"\x00" if len(b) & 1 else b"") for kind, b in chunks)
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body
