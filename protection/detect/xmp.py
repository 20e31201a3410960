"""Tiny, safe XMP reader: every value of a given property, whichever prefix or RDF form the writer chose."""

from __future__ import annotations

import xml.etree.ElementTree as ET

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
XMP_BASIC = "http://ns.adobe.com/xap/1.0/"
DCTERMS = "http://purl.org/dc/terms/"


def parse(packet: str | None) -> ET.Element | None:
    """XMP never needs a DTD; refusing one rules out entity-expansion tricks before expat sees them."""
    if not packet or "<!DOCTYPE" in packet or "<!ENTITY" in packet:
        return None
    start = packet.find("<x:xmpmeta")
    if start < 0:
        start = packet.find("<rdf:RDF")
    body = packet[start:] if start >= 0 else packet
    end_tags = ("</x:xmpmeta>", "</rdf:RDF>")
    for tag in end_tags:
        end = body.rfind(tag)
        if end >= 0:
            body = body[:end + len(tag)]
            break
    try:
        return ET.fromstring(body)
    except (ET.ParseError, ValueError):
        return None


def values(root: ET.Element | None, namespace: str, name: str) -> list[str]:
    """Values of property {namespace}name: as attribute, element text, rdf:resource, or rdf:li items."""
    if root is None:
        return []
    qname = f"{{{namespace}}}{name}"
    found: list[str] = []
    for el in root.iter():
        attr = el.get(qname)
        if attr:
            found.append(attr.strip())
        if el.tag != qname:
            continue
        resource = el.get(f"{{{RDF}}}resource")
        if resource:
            found.append(resource.strip())
        if el.text and el.text.strip():
            found.append(el.text.strip())
        for li in el.iter(f"{{{RDF}}}li"):
            if li.text and li.text.strip():
                found.append(li.text.strip())
    return list(dict.fromkeys(found))  # unique, in document order
