"""NoAI XMP in every JPEG, PNG and WebP we serve, read back by two independent readers: Pillow and ExifTool.

Re-encoding drops XMP (Pillow writes none unless told), so the pipeline stamps every derivative and
`stamp_xmp` puts the packet back into bytes that anything else re-encoded, without touching the pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from protection import MediaPolicy, build_xmp, protect, read_xmp
from protection.mark import DMI_PROHIBITED, StampError, stamp_xmp
from tests.protection.exiftool import exiftool_xmp, require_exiftool
from tests.protection.test_mark import DIGITAL_CREATION, NS, description

LICENCE = "https://creativecommons.org/licenses/by-nc-nd/4.0/"
POLICY = MediaPolicy(creator="Mira Okafor", copyright="© 2025 Mira Okafor. All rights reserved.",
                     license_url=LICENCE, digital_source_type=DIGITAL_CREATION)


@pytest.fixture(scope="module")
def exiftool() -> Path:
    return require_exiftool()


def painting(mode: str = "RGB", size: tuple[int, int] = (640, 420)) -> Image.Image:
    im = Image.linear_gradient("L").resize(size).convert(mode)
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(size).rotate(90))
    return im


def encoded(im: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **options)
    return out.getvalue()


def assert_pillow_reads_everything(data: bytes, policy: MediaPolicy = POLICY) -> None:
    xmp = read_xmp(data)
    assert xmp.count("<x:xmpmeta") == 1, "exactly one packet"
    desc = description(xmp)
    assert desc.findtext("plus:DataMining", namespaces=NS) == DMI_PROHIBITED
    assert desc.findtext("Iptc4xmpExt:DigitalSourceType", namespaces=NS) == policy.digital_source_type
    assert desc.findtext("dc:creator/rdf:Seq/rdf:li", namespaces=NS) == policy.creator
    assert desc.findtext("dc:rights/rdf:Alt/rdf:li", namespaces=NS) == policy.copyright
    assert desc.findtext("xmpRights:WebStatement", namespaces=NS) == policy.license_url


def assert_exiftool_reads_everything(tags: dict, policy: MediaPolicy = POLICY) -> None:
    # ExifTool shows PLUS vocabulary IRIs by their code (-n) and checks the file's structure (-validate).
    assert tags["XMP-plus:DataMining"] == "DMI-PROHIBITED", tags
    assert tags["XMP-iptcExt:DigitalSourceType"] == policy.digital_source_type
    assert tags["XMP-dc:Creator"] == policy.creator
    assert tags["XMP-dc:Rights"] == policy.copyright
    assert tags["XMP-xmpRights:WebStatement"] == policy.license_url
    assert tags["XMP-cc:License"] == policy.license_url
    assert tags["XMP-xmpRights:Marked"] is True
    assert tags["ExifTool:Validate"] == "0 0 0", f"ExifTool found problems: {tags}"


def test_every_pipeline_derivative_reads_back_in_pillow_and_exiftool(exiftool: Path, tmp_path: Path) -> None:
    result = protect(encoded(painting(size=(3000, 2000)), "JPEG", quality=92), POLICY)
    assert {(d.format, d.long_edge) for d in result.derivatives} == {
        (f, s) for f in ("webp", "jpeg") for s in (2560, 1280, 400)}
    paths = []
    for d in result.derivatives:
        assert_pillow_reads_everything(d.data)
        path = tmp_path / f"{d.long_edge}.{d.format}"
        path.write_bytes(d.data)
        paths.append(path)
    for tags in exiftool_xmp(exiftool, paths):
        assert_exiftool_reads_everything(tags)


def test_noai_off_is_visible_to_exiftool_too(exiftool: Path, tmp_path: Path) -> None:
    result = protect(encoded(painting(), "PNG"), MediaPolicy(noai=False, creator="Bea"))
    path = tmp_path / "free.jpg"
    path.write_bytes(result.best("jpeg").data)
    tags = exiftool_xmp(exiftool, [path])[0]
    assert "XMP-plus:DataMining" not in tags and tags["XMP-dc:Creator"] == "Bea"


def test_a_re_encode_drops_the_xmp_and_stamping_puts_it_back_without_touching_pixels(exiftool: Path,
                                                                                      tmp_path: Path) -> None:
    """What a cloaking engine or an external tool does: decode our derivative, change it, encode again."""
    ours = protect(encoded(painting(), "PNG"), POLICY).best("jpeg").data
    with Image.open(io.BytesIO(ours)) as im:
        reencoded = encoded(im.convert("RGB"), "JPEG", quality=80)
    assert "DataMining" not in read_xmp(reencoded), "Pillow drops XMP on re-save: hence stamping"
    stamped = stamp_xmp(reencoded, build_xmp(POLICY))
    assert_pillow_reads_everything(stamped)
    with Image.open(io.BytesIO(reencoded)) as before, Image.open(io.BytesIO(stamped)) as after:
        assert ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox() is None
    path = tmp_path / "restamped.jpg"
    path.write_bytes(stamped)
    assert_exiftool_reads_everything(exiftool_xmp(exiftool, [path])[0])


def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0131] = "SomeEditor 1.0"  # Software
    exif[0x0213] = 1  # YCbCrPositioning, which ExifTool's validator expects in a JPEG's IFD0
    return exif


CASES = {
    "jpeg-jfif": lambda: encoded(painting(), "JPEG", quality=85),
    "jpeg-progressive-exif": lambda: encoded(painting(), "JPEG", progressive=True, exif=camera_exif()),
    "jpeg-with-their-xmp": lambda: encoded(painting(), "JPEG", xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"),
    "png-rgb": lambda: encoded(painting(), "PNG"),
    "png-rgba": lambda: encoded(painting("RGBA"), "PNG"),
    "png-palette": lambda: encoded(painting().convert("P"), "PNG"),
    "webp-lossy": lambda: encoded(painting(), "WEBP", quality=80),
    "webp-lossless-alpha": lambda: encoded(painting("RGBA"), "WEBP", lossless=True),
    "webp-lossy-alpha": lambda: encoded(painting("RGBA"), "WEBP", quality=70),
    "webp-extended-with-their-xmp": lambda: encoded(painting(), "WEBP", xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"),
}


def test_stamp_xmp_on_every_served_format(exiftool: Path, tmp_path: Path) -> None:
    paths = []
    for name, make in CASES.items():
        data = make()
        stamped = stamp_xmp(stamp_xmp(data, build_xmp(MediaPolicy(creator="someone else"))), build_xmp(POLICY))
        assert_pillow_reads_everything(stamped)
        with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(stamped)) as after:
            assert (after.format, after.size, after.mode) == (before.format, before.size, before.mode), name
            assert before.tobytes() == after.tobytes(), f"{name}: pixels changed"
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[Image.open(io.BytesIO(data)).format]
        path = tmp_path / f"{name}.{ext}"
        path.write_bytes(stamped)
        paths.append(path)
    for path, tags in zip(paths, exiftool_xmp(exiftool, paths), strict=True):
        assert "someone else" not in str(tags), f"{path.name}: the old packet was replaced, not kept"
        assert_exiftool_reads_everything(tags)


@pytest.mark.parametrize("data", [b"", b"GIF89a....", b"\xff\xd8\xff\xe1\x00", b"\x89PNG\r\n\x1a\n",
                                  b"RIFF\x04\x00\x00\x00WEBP"])
def test_stamp_xmp_refuses_what_it_cannot_stamp(data: bytes) -> None:
    with pytest.raises(StampError):
        stamp_xmp(data, build_xmp(POLICY))
