"""Detection fixtures made in the tests: camera-like photos, flat drawings, and files carrying each AI signal."""

from __future__ import annotations

import datetime
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SDXL_BITS = [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]]


def photo(width: int = 640, height: int = 480, seed: int = 1, noise: float = 6.0) -> np.ndarray:
    """Camera-like: smooth gradients, a few soft blobs, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 180 + 40, y / height * 160 + 50, (x + y) / (width + height) * 140 + 60], -1)
    for _ in range(5):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(30, 160)
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))[..., None]
        base = base * (1 - 0.6 * blob) + rng.uniform(0, 255, 3) * 0.6 * blob
    return np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)


def drawing(width: int = 600, height: int = 400, seed: int = 2) -> np.ndarray:
    """A flat digital drawing: a few solid shapes on a flat background, hard edges, no noise."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(180, 255, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(8):
        x0, y0 = int(rng.integers(0, width - 50)), int(rng.integers(0, height - 50))
        box = (x0, y0, x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 150)))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)(box, fill=colour, outline=(0, 0, 0), width=3)
    return np.asarray(im)


def encode(arr: np.ndarray | Image.Image, fmt: str = "PNG", **kw) -> bytes:
    im = arr if isinstance(arr, Image.Image) else Image.fromarray(arr)
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def png_text(arr: np.ndarray, chunks: dict[str, str], *, itxt: bool = False, compressed: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        if itxt:
            info.add_itxt(k, v, zip=compressed)
        else:
            info.add_text(k, v, zip=compressed)
    return encode(arr, "PNG", pnginfo=info)


def xmp_packet(source_type: str | None = None, creator_tool: str | None = None, attribute: bool = False,
               provenance: str | None = None) -> bytes:
    props, attrs = [], []
    if source_type is not None:
        value = source_type if source_type.startswith("http") else IPTC + source_type
        if attribute:
            attrs.append(f'Iptc4xmpExt:DigitalSourceType="{value}"')
        else:
            props.append(f"<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>")
    if creator_tool:
        props.append(f"<xmp:CreatorTool>{creator_tool}</xmp:CreatorTool>")
    if provenance:
        props.append(f"<dcterms:provenance>{provenance}</dcterms:provenance>")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dcterms="http://purl.org/dc/terms/" '
            + " ".join(attrs) + ">" + "".join(props) +
            '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def exif_with(software: str | None = None, user_comment: bytes | None = None,
              description: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "FixtureCam", "FC-1"
    if software:
        exif[0x0131] = software
    if description:
        exif[0x010E] = description
    if user_comment is not None:
        exif.get_ifd(0x8769)[0x9286] = user_comment
    return exif


A1111_PARAMS = ("a castle on a hill, golden hour, highly detailed\nNegative prompt: blurry, lowres\n"
                "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 640x480, "
                "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.7.0")

COMFY_PROMPT = json.dumps({
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "cfg": 8, "model": ["4", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
})
COMFY_WORKFLOW = json.dumps({"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"},
                                                          {"id": 4, "type": "CheckpointLoaderSimple"}], "links": []})
NOVELAI_COMMENT = json.dumps({"prompt": "1girl, masterpiece", "steps": 28, "height": 480, "width": 640,
                              "scale": 5.0, "uc": "lowres", "seed": 42, "sampler": "k_euler_ancestral",
                              "n_samples": 1, "noise_schedule": "native"})


def c2pa_signer():
    """A throwaway CA + signing certificate (ES256), made offline with `cryptography`. Returns (signer, ca_pem)."""
    import c2pa
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cara-fed tests")])

    now = datetime.datetime.now(datetime.UTC)
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def builder(subject, issuer, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))

    ca = (builder(name("Test CA"), name("Test CA"), ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage), True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (builder(name("Test Signer"), ca.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    return signer, ca.public_bytes(pem).decode()


def c2pa_sign(image: bytes, mime: str, source_type: str | None, generator: str = "FixtureGen",
              action: str = "c2pa.created", signer=None) -> bytes:
    import c2pa

    signer = signer or c2pa_signer()[0]
    act = {"action": action}
    if source_type:
        act["digitalSourceType"] = IPTC + source_type
    manifest = {"claim_generator_info": [{"name": generator, "version": "1.0"}], "title": "fixture",
                "format": mime, "assertions": [{"label": "c2pa.actions", "data": {"actions": [act]}}]}
    out = io.BytesIO()
    c2pa.Builder(manifest).sign(signer, mime, io.BytesIO(image), out)
    return out.getvalue()
