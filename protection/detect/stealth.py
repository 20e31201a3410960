"""NovelAI / sd-webui-stealth-pnginfo "stealth" metadata hidden in the least significant bits of pixels.

Format (NovelAI's nai_meta.py and the stealth-pnginfo extension agree): a bit stream read column-major
(down the first column, then the next), one bit per pixel from the alpha channel ("stealth_pnginfo",
"stealth_pngcomp") or three bits per pixel from R, G, B ("stealth_rgbinfo", "stealth_rgbcomp"):
    15-byte ASCII magic | 32-bit big-endian payload length IN BITS | payload (gzip for *comp, else UTF-8)
Bits are packed MSB first. The payload is the generation parameters (A1111 text or NovelAI JSON).
"""

from __future__ import annotations

import json

import numpy as np

from protection.detect.source import MAX_TEXT, PixelView, inflate, view_of

MAGICS = {b"stealth_pnginfo": ("alpha", False), b"stealth_pngcomp": ("alpha", True),
          b"stealth_rgbinfo": ("rgb", False), b"stealth_rgbcomp": ("rgb", True)}
MAGIC_BITS = 15 * 8


def _bits(pixels: PixelView, mode: str, count: int) -> np.ndarray:
    """The first `count` LSBs in stream order, reading only the columns needed."""
    height = pixels.shape[0]
    per_pixel = 1 if mode == "alpha" else 3
    cols = min(pixels.shape[1], -(-count // (height * per_pixel)))
    columns = pixels.columns(cols)
    block = columns[:, :, 3:4] if mode == "alpha" else columns[:, :, :3]
    # transpose to (column, row, channel) so ravel() walks down each column, channel by channel
    return (np.ascontiguousarray(block.transpose(1, 0, 2)).ravel()[:count] & 1).astype(np.uint8)


def _pack(bits: np.ndarray) -> bytes:
    return np.packbits(bits).tobytes()


def read(source: np.ndarray | PixelView | None) -> tuple[str, str | dict] | None:
    """(magic, payload) when the stealth signature is present, else None. Never raises on odd arrays.
    Reads the first column for the magic, and the columns the payload needs only when the magic is there."""
    pixels = view_of(source)
    if pixels is None or len(pixels.shape) != 3 or pixels.shape[0] == 0:
        return None
    modes = ["alpha", "rgb"] if pixels.shape[2] == 4 else ["rgb"]
    for mode in modes:
        per_pixel = 1 if mode == "alpha" else 3
        capacity = pixels.shape[0] * pixels.shape[1] * per_pixel
        if capacity < MAGIC_BITS + 32:
            continue
        magic = _pack(_bits(pixels, mode, MAGIC_BITS))
        if magic not in MAGICS or MAGICS[magic][0] != mode:
            continue
        head = _bits(pixels, mode, MAGIC_BITS + 32)[MAGIC_BITS:]
        length = int.from_bytes(_pack(head), "big")
        length = min(length, capacity - MAGIC_BITS - 32, MAX_TEXT * 8)
        payload = _pack(_bits(pixels, mode, MAGIC_BITS + 32 + length)[MAGIC_BITS + 32:])
        compressed = MAGICS[magic][1]
        raw = inflate(payload) if compressed else payload
        text = raw.decode("utf-8", "replace").rstrip("\0")
        return magic.decode(), _maybe_json(text)
    return None


def _maybe_json(text: str) -> str | dict:
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
            return value if isinstance(value, dict) else text
        except ValueError:
            return text
    return text


def write(pixels: np.ndarray, payload: bytes, *, magic: str = "stealth_pngcomp") -> np.ndarray:
    """Embed `payload` (already gzip'd for *comp magics) the way NovelAI does; for test fixtures."""
    mode = MAGICS[magic.encode()][0]
    bits = np.unpackbits(np.frombuffer(magic.encode() + (len(payload) * 8).to_bytes(4, "big") + payload,
                                       dtype=np.uint8))
    out = np.array(pixels, dtype=np.uint8, copy=True)
    channels = out[:, :, 3:4] if mode == "alpha" else out[:, :, :3]
    stream = channels.transpose(1, 0, 2).reshape(-1)  # a copy in column-major stream order
    if bits.size > stream.size:
        raise ValueError("image too small for this payload")
    stream[:bits.size] = (stream[:bits.size] & 0xFE) | bits
    width, height, depth = out.shape[1], out.shape[0], channels.shape[2]
    restored = stream.reshape(width, height, depth).transpose(1, 0, 2)
    if mode == "alpha":
        out[:, :, 3:4] = restored
    else:
        out[:, :, :3] = restored
    return out
