"""Layer (a): C2PA manifests signed in the test with a throwaway CA (c2pa-python, fully offline)."""

import io

import pytest
from PIL import Image

from protection.detect import detect, provenance
from tests.protection.detect.fixtures import c2pa_sign, c2pa_signer, encode, photo, xmp_packet

MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_signed_ai_manifest_is_read_and_validated(fmt):
    data = c2pa_sign(encode(photo(320, 240), fmt), MIME[fmt], "trainedAlgorithmicMedia", generator="FixtureGen")
    (e,) = provenance.scan(data)
    assert (e.layer, e.label) == ("c2pa", "ai_generated")
    assert e.details["validation_state"] == "Valid"  # correctly signed, but our CA is on no trust list
    assert "signingCredential.untrusted" in e.details["validation_codes"]
    assert e.details["claim_generator"] == "FixtureGen 1.0" and e.details["active"] is True
    assert e.details["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert "FixtureGen" in e.finding and "trainedAlgorithmicMedia" in e.finding
    assert detect(data).label == "ai_generated"


def test_trust_anchor_makes_it_trusted_and_tampering_makes_it_invalid():
    signer, ca_pem = c2pa_signer()
    data = c2pa_sign(encode(photo(320, 240), "JPEG"), "image/jpeg", "trainedAlgorithmicMedia", signer=signer)
    (trusted,) = provenance.scan(data, trust_anchors_pem=ca_pem)
    (valid,) = provenance.scan(data)
    assert trusted.details["validation_state"] == "Trusted" and trusted.weight > valid.weight
    assert detect(data, c2pa_trust_anchors=ca_pem).evidence[0].details["validation_state"] == "Trusted"
    tampered = bytearray(data)
    tampered[-20] ^= 0xFF  # inside the entropy-coded image data the manifest hashes
    (bad,) = provenance.scan(bytes(tampered))
    assert bad.details["validation_state"] == "Invalid" and "assertion.dataHash.mismatch" in bad.details[
        "validation_codes"]
    assert 0 < bad.weight < valid.weight and "INVALID" in bad.finding


def test_composite_is_ai_assisted_and_capture_is_no_signal():
    (e,) = provenance.scan(c2pa_sign(encode(photo(320, 240), "JPEG"), "image/jpeg",
                                     "compositeWithTrainedAlgorithmicMedia"))
    assert e.label == "ai_assisted" and e.weight > 0.5
    camera = c2pa_sign(encode(photo(320, 240), "JPEG"), "image/jpeg", "digitalCapture", generator="CameraApp")
    (info,) = provenance.scan(camera)
    assert (info.label, info.weight) == ("no_signal", 0.0)
    assert info.details["digital_source_types"] == ["digitalCapture"]
    assert detect(camera).label == "no_signal"


def test_known_ai_claim_generator_without_source_type():
    data = c2pa_sign(encode(photo(320, 240), "PNG"), "image/png", "algorithmicMedia", generator="Adobe Firefly")
    (e,) = provenance.scan(data)
    assert e.label == "ai_generated" and e.details["generator"] == "Adobe Firefly"


def test_plain_files_cost_nothing_and_remote_manifests_are_not_fetched():
    assert provenance.scan(encode(photo(320, 240), "JPEG")) == []
    remote = encode(photo(320, 240), "JPEG", xmp=xmp_packet(provenance="https://example.invalid/m.c2pa"))
    (e,) = provenance.scan(remote)
    assert e.weight == 0.0 and "not fetched" in e.finding


def test_re_encoding_drops_the_manifest():
    """Documented: any re-encode that does not carry the JUMBF box (Pillow never does) loses the manifest."""
    data = c2pa_sign(encode(photo(320, 240), "JPEG"), "image/jpeg", "trainedAlgorithmicMedia")
    again = encode(Image.open(io.BytesIO(data)), "JPEG", quality=90)
    assert provenance.scan(again) == [] and detect(again).label == "no_signal"


def test_fake_c2pa_bytes_never_raise():
    for junk in (b"\xff\xd8\xff" + b"c2pa" * 100, encode(photo(64, 64), "PNG")[:60] + b"caBXc2pajumb" * 10):
        found = provenance.scan(junk)
        assert all(e.weight == 0.0 for e in found)
