"""XMP marking: NoAI (IPTC PLUS data mining), provenance and rights in every derivative."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from PIL import Image

from protection import MediaPolicy, build_xmp, protect, read_xmp

DMI = "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"
DIGITAL_CREATION = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation"
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "plus": "http://ns.useplus.org/ldf/xmp/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
    "cc": "http://creativecommons.org/ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
}


def source(w: int = 900, h: int = 600) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((w, h)).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def description(xmp: str) -> ET.Element:
    start, end = xmp.index("<x:xmpmeta"), xmp.index("</x:xmpmeta>") + len("</x:xmpmeta>")
    root = ET.fromstring(xmp[start:end])  # well-formed XML, or this raises
    found = root.find("rdf:RDF/rdf:Description", NS)
    assert found is not None
    return found


def test_every_derivative_carries_noai_and_rights() -> None:
    policy = MediaPolicy(
        creator="Ada <Lovelace> & Co",
        copyright="© 2025 Ada Lovelace. All rights reserved.",
        license_url="https://creativecommons.org/licenses/by-nc-nd/4.0/",
        digital_source_type=DIGITAL_CREATION,
    )
    res = protect(source(), policy)
    assert len(res.derivatives) == 4
    for d in res.derivatives:
        xmp = read_xmp(d.data)
        assert DMI in xmp, d
        desc = description(xmp)
        assert desc.findtext("plus:DataMining", namespaces=NS) == DMI
        assert desc.findtext("Iptc4xmpExt:DigitalSourceType", namespaces=NS) == DIGITAL_CREATION
        assert desc.findtext("dc:creator/rdf:Seq/rdf:li", namespaces=NS) == "Ada <Lovelace> & Co"
        assert desc.findtext("dc:rights/rdf:Alt/rdf:li", namespaces=NS).startswith("© 2025 Ada")
        assert desc.findtext("xmpRights:WebStatement", namespaces=NS) == policy.license_url
        lic = desc.find("cc:license", NS)
        assert lic is not None and lic.get(f"{{{NS['rdf']}}}resource") == policy.license_url


def test_noai_off_leaves_no_data_mining_statement_but_still_marks() -> None:
    res = protect(source(), MediaPolicy(noai=False, creator="Ada"))
    for d in res.derivatives:
        xmp = read_xmp(d.data)
        assert xmp, "every derivative carries our XMP packet"
        assert "DMI-PROHIBITED" not in xmp and "DataMining" not in xmp
        assert description(xmp).findtext("dc:creator/rdf:Seq/rdf:li", namespaces=NS) == "Ada"


def test_minimal_packet_is_valid_xml() -> None:
    xmp = build_xmp(MediaPolicy(noai=False)).decode()
    assert len(description(xmp)) == 0
    assert xmp.startswith("<?xpacket begin=") and xmp.endswith('<?xpacket end="w"?>')


def test_source_xmp_is_replaced_not_merged() -> None:
    out = io.BytesIO()
    theirs = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret>GPS 52.1 4.3</secret></x:xmpmeta>'
    Image.new("RGB", (200, 100), (9, 9, 9)).save(out, "JPEG", xmp=theirs)
    res = protect(out.getvalue())
    assert "xmp" in res.report["stripped"]
    for d in res.derivatives:
        assert b"GPS 52.1" not in d.data and DMI in read_xmp(d.data)


def test_read_xmp_of_an_unmarked_image_is_empty() -> None:
    assert read_xmp(source(20, 10)) == ""


def test_very_long_artist_text_cannot_break_the_jpeg_save() -> None:
    res = protect(source(120, 80), MediaPolicy(creator="A\x00\x1b" * 50_000, copyright="©" * 100_000))
    for d in res.derivatives:
        assert description(read_xmp(d.data)).findtext("dc:creator/rdf:Seq/rdf:li", namespaces=NS).startswith("AA")
