"""Layer (b): IPTC DigitalSourceType in XMP, from JPEG APP1, PNG iTXt and WebP XMP chunks."""

import pytest

from protection import MediaPolicy, build_xmp
from protection.detect import detect, iptc
from tests.protection.detect.fixtures import IPTC, drawing, encode, photo, png_text, xmp_packet


def carriers(packet: bytes) -> dict[str, bytes]:
    img = photo(320, 240)
    return {
        "jpeg": encode(img, "JPEG", quality=90, xmp=packet),
        "png": png_text(img, {"XML:com.adobe.xmp": packet.decode()}, itxt=True),
        "webp": encode(img, "WEBP", quality=90, xmp=packet),
    }


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_trained_algorithmic_media_is_ai_generated_in_every_container(fmt):
    data = carriers(xmp_packet("trainedAlgorithmicMedia"))[fmt]
    found = iptc.scan(data)
    assert [(e.label, e.layer) for e in found] == [("ai_generated", "iptc")]
    assert found[0].details["digital_source_type"] == IPTC + "trainedAlgorithmicMedia"
    assert "trainedAlgorithmicMedia" in found[0].finding
    assert detect(data).label == "ai_generated"


@pytest.mark.parametrize("term", ["compositeWithTrainedAlgorithmicMedia", "algorithmicallyEnhanced"])
def test_composites_and_enhancement_are_ai_assisted(term):
    data = carriers(xmp_packet(term, attribute=True))["jpeg"]  # attribute form of the property
    (found,) = iptc.scan(data)
    assert found.label == "ai_assisted" and found.weight > 0
    assert detect(data).label == "ai_assisted"


@pytest.mark.parametrize("term", ["digitalCapture", "digitalArt", "humanEdits", "algorithmicMedia"])
def test_non_ai_types_are_recorded_with_no_weight(term):
    (found,) = iptc.scan(carriers(xmp_packet(term))["png"])
    assert (found.label, found.weight) == ("no_signal", 0.0)
    assert "not an AI source type" in found.finding


def test_our_own_stamped_derivatives_do_not_flag():
    """Derivatives we serve carry our XMP (DigitalSourceType digitalCreation); inbound copies must not flag."""
    packet = build_xmp(MediaPolicy(digital_source_type=IPTC + "digitalCreation", creator="Ann"))
    for data in carriers(packet).values():
        verdict = detect(data)
        assert (verdict.score, verdict.label) == (0.0, "no_signal")


def test_no_xmp_means_no_evidence_and_broken_xmp_is_harmless():
    assert iptc.scan(encode(drawing(), "PNG")) == []
    broken = carriers(b"<x:xmpmeta><rdf:RDF><unclosed")["jpeg"]
    (found,) = iptc.scan(broken)
    assert found.weight == 0.0 and "not well-formed" in found.finding
    entity = (b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
              b"<x:xmpmeta>&b;&b;&b;</x:xmpmeta>")
    assert iptc.scan(carriers(entity)["png"])[0].weight == 0.0
