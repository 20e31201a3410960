"""XMP stamped into every derivative: NoAI (IPTC PLUS data-mining), provenance, creator and rights.

Pillow drops metadata when it re-encodes, so the packet is built once per upload and passed to every save.
"""

from __future__ import annotations

import io
import re
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
