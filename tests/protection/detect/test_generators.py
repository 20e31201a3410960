"""Layer (c): generator metadata, NovelAI's alpha-channel stealth format, and known generator names."""

import gzip
import json

import numpy as np
import pytest

from protection.detect import detect, generators, stealth
from tests.protection.detect.fixtures import (
    A1111_PARAMS,
    COMFY_PROMPT,
    COMFY_WORKFLOW,
    NOVELAI_COMMENT,
    drawing,
    encode,
    exif_with,
    photo,
    png_text,
    xmp_packet,
)


def only(found, label="ai_generated"):
    assert found, "expected evidence"
    assert all(e.layer == "generator" and e.label == label and e.weight > 0 for e in found), found
    return found


def test_a1111_parameters_png_chunk():
    (e,) = only(generators.scan(png_text(photo(), {"parameters": A1111_PARAMS})))
    assert "Automatic1111" in e.finding and e.weight >= 0.9
    assert e.details["excerpt"].startswith("a castle on a hill")
    # compressed iTXt, as some forks write it
    assert only(generators.scan(png_text(photo(), {"parameters": A1111_PARAMS}, itxt=True, compressed=True)))


@pytest.mark.parametrize("byteorder", ["utf-16-be", "utf-16-le"])
def test_a1111_parameters_in_jpeg_exif_user_comment(byteorder):
    comment = b"UNICODE\0" + A1111_PARAMS.encode(byteorder)
    data = encode(photo(), "JPEG", quality=90, exif=exif_with(user_comment=comment))
    (e,) = only(generators.scan(data))
    assert "EXIF UserComment" in e.finding
    webp = encode(photo(), "WEBP", exif=exif_with(user_comment=comment))
    assert only(generators.scan(webp))


def test_comfyui_prompt_and_workflow():
    found = only(generators.scan(png_text(photo(), {"prompt": COMFY_PROMPT, "workflow": COMFY_WORKFLOW})))
    assert {e.finding.split(" holds")[0] for e in found} == {"PNG text chunk 'prompt'", "PNG text chunk 'workflow'"}
    assert "KSampler" in found[0].details["node_types"]


def test_novelai_text_chunks():
    chunks = {"Software": "NovelAI", "Source": "NovelAI Diffusion V4 4F6A2AE5", "Comment": NOVELAI_COMMENT,
              "Title": "AI generated image", "Description": "1girl, masterpiece"}
    found = only(generators.scan(png_text(photo(), chunks)))
    findings = " | ".join(e.finding for e in found)
    assert "NovelAI generation settings" in findings and "names NovelAI" in findings


def novelai_stealth_png(payload: dict, *, magic="stealth_pngcomp", base=None) -> bytes:
    rgba = np.dstack([photo(400, 300) if base is None else base, np.full((300, 400), 255, np.uint8)])
    raw = json.dumps(payload).encode()
    marked = stealth.write(rgba, gzip.compress(raw) if magic.endswith("comp") else raw, magic=magic)
    return encode(marked, "PNG")


def test_novelai_alpha_stealth_pngcomp_is_read():
    meta = {"Software": "NovelAI", "Source": "NovelAI Diffusion V3", "Comment": NOVELAI_COMMENT}
    data = novelai_stealth_png(meta)
    (e,) = only(generators.scan(data))  # no text chunks at all: only the alpha LSBs speak
    assert e.details["magic"] == "stealth_pngcomp" and e.details["software"] == "NovelAI"
    assert stealth.read(np.asarray(__import__("PIL.Image").Image.open(__import__("io").BytesIO(data)))) == (
        "stealth_pngcomp", meta)


def test_stealth_rgb_and_uncompressed_variants():
    rgb = stealth.write(np.dstack([photo(400, 300)]), A1111_PARAMS.encode(), magic="stealth_rgbinfo")
    (e,) = only(generators.scan(encode(rgb, "PNG")))
    assert e.details["magic"] == "stealth_rgbinfo" and e.weight >= 0.9
    assert only(generators.scan(novelai_stealth_png({"Software": "NovelAI"}, magic="stealth_pnginfo")))


def test_stealth_is_lost_in_jpeg_and_a_lying_length_is_harmless():
    meta = {"Software": "NovelAI"}
    rgba = np.dstack([photo(400, 300), np.full((300, 400), 255, np.uint8)])
    marked = stealth.write(rgba, gzip.compress(json.dumps(meta).encode()))
    assert generators.scan(encode(marked[:, :, :3], "JPEG", quality=95)) == []
    # header claims 2^32-1 bits of payload: read is capped, not a crash or a huge allocation
    bits = np.unpackbits(np.frombuffer(b"stealth_pngcomp" + b"\xff\xff\xff\xff", np.uint8))
    lying = rgba.copy()
    col = lying[:, :, 3].T.reshape(-1)
    col[:bits.size] = (col[:bits.size] & 0xFE) | bits
    lying[:, :, 3] = col.reshape(400, 300).T
    assert isinstance(generators.scan(encode(lying, "PNG")), list)


@pytest.mark.parametrize("software, name", [("Midjourney", "Midjourney"), ("DALL\u00b7E 3", "DALL-E / OpenAI"),
                                            ("Adobe Firefly", "Adobe Firefly"), ("ComfyUI", "ComfyUI"),
                                            ("Leonardo.Ai", "Leonardo.Ai"), ("InvokeAI 3.4", "InvokeAI"),
                                            ("Fooocus 2.1", "Fooocus")])
def test_exif_software_naming_generators(software, name):
    data = encode(photo(), "JPEG", exif=exif_with(software=software))
    (e,) = only(generators.scan(data))
    assert e.details["generator"] == name and e.details["field"] == "EXIF Software"


def test_xmp_creator_tool_and_midjourney_job_id():
    data = encode(photo(), "JPEG", xmp=xmp_packet(creator_tool="Stable Diffusion XL"))
    assert only(generators.scan(data))[0].details["field"] == "XMP CreatorTool"
    mj = png_text(photo(), {"Description": "a red fox --ar 3:2 Job ID: 2f1d8a3c-5b6e-4f70-9a1b-0c2d3e4f5a6b",
                            "Author": "someone"})
    assert only(generators.scan(mj))[0].details["generator"] == "Midjourney"


def test_generator_list_is_a_data_file():
    names = {g["name"] for g in generators.catalogue()}
    assert {"Midjourney", "NovelAI", "ComfyUI", "Adobe Firefly", "Fooocus", "InvokeAI"} <= names
    assert not any("gimp" in p.pattern.lower() for g in generators.catalogue() for p in g["software"])


@pytest.mark.parametrize("make", [
    lambda: encode(photo(), "JPEG", exif=exif_with(software="GIMP 2.10")),
    lambda: encode(photo(), "JPEG", exif=exif_with(software="Adobe Photoshop 25.0 (Windows)")),
    lambda: encode(drawing(), "PNG", pnginfo=None),
    lambda: png_text(drawing(), {"Software": "Krita", "Title": "Sunset", "Author": "Ann",
                                 "Description": "fireflies over a pond, painted in Procreate",
                                 "Comment": "WIP, steps 1-3 of my process", "prompt": "draw daily"}),
    lambda: encode(photo(), "JPEG", exif=exif_with(software="Clip Studio Paint",
                                                   description="Midsummer fireflies",
                                                   user_comment=b"ASCII\0\0\0Shot on a tripod")),
    lambda: encode(np.dstack([drawing(), np.full((400, 600), 200, np.uint8)]), "PNG"),  # alpha, no stealth
])
def test_ordinary_files_do_not_flag(make):
    data = make()
    assert generators.scan(data) == []
    assert detect(data).label == "no_signal"
