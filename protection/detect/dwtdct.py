"""The `invisible-watermark` "dwtDct" method (imwatermark/maxDct.py), reimplemented with numpy.

We do not import the PyPI package: it imports torch on import. Facts of the algorithm, as released (0.2.0):
- BGR -> YUV with OpenCV's conversion; only channel 1 (U) is marked (scales [0, 36, 36] but the loop runs
  over channels 0 and 1 only, and channel 0's scale is 0).
- One-level Haar DWT of U cropped to multiples of 4; the LL band is cut into 4x4 blocks, row-major.
- Block n carries bit n mod L. Despite the name no DCT is applied: in each block the coefficient with the
  largest magnitude (excluding [0, 0]) is quantised to (|v| // 36 + 0.25 + 0.5 * bit) * 36, sign kept.
- Decoding reads bit = (|v| mod 36) > 18 per block and averages over all blocks carrying the same bit.
- The encoder passes the detail bands back to idwt2 as (V, H, D), swapping H and V (a quirk we keep so our
  fixtures look like real ones; decoding only reads LL).
- SD 1.x (CompVis scripts) embed b"StableDiffusionV1", SD 2.x b"SDV2", both on uint8 BGR arrays (OpenCV's
  integer YUV, U offset 128). SDXL (generative-models, diffusers) embeds a 48-bit pattern on a FLOAT array
  in 0..255, where OpenCV's float YUV uses offset 0.5: that is why SDXL decodes only in "float" mode.
- Channel order: the package expects BGR. CompVis scripts and generative-models convert RGB->BGR first;
  diffusers' SDXL watermarker hands it RGB as is, so its mark lives in the U of the swapped order. We read
  both orders ("bgr": the package's own, "rgb": swapped) and keep the one whose bits match a payload.
- Flat art: the LL band is low-pass pixels, not a transform of zero mean, so in a flat colour area all 15
  candidates tie. The encoder marks the first of them; when bit 0 lowers it, a tied neighbour becomes the
  largest and the decoder reads the unmarked colour, so flat blocks outvote the marked ones. Rule (see
  `block_bits`): a block whose 15 candidates all lie within FLAT_TOL is skipped (no evidence either way);
  a block where all but one lie within FLAT_TOL is read at the odd one out (the marked one); others as the
  package does.
"""

from __future__ import annotations

import numpy as np

from protection.detect.source import PixelView

SCALE = 36.0
BLOCK = 4
MIN_PIXELS = 256 * 256  # the package refuses smaller images; so do we
MAX_BLOCKS = 1 << 16  # blocks read per image: all of any image up to ~4 MP, the top rows of larger ones
STRIP_BLOCK_ROWS = 8  # block rows per strip: 64 image rows
# LL units (2x a pixel's U). A marked flat block differs from its flat neighbours by 9..27 before rounding
# and >= ~6 after the uint8 round trip, while a clean flat area is exactly constant (dither, +-1 noise: <= 2).
FLAT_TOL = 2.0
ORDERS = ("bgr", "rgb")  # "bgr": the package's own channel order; "rgb": RGB handed to it as if BGR

# OpenCV's RGB<->YUV constants (color_yuv.simd.hpp): float path and 14-bit fixed-point uint8 path.
_R2Y, _G2Y, _B2Y, _B2U, _R2V = 0.299, 0.587, 0.114, 0.492111, 0.877283
_U2B, _U2G, _V2G, _V2R = 2.032, -0.395, -0.581, 1.140
_IR2Y, _IG2Y, _IB2Y, _IB2U, _IR2V = 4899, 9617, 1868, 8061, 14369
_SHIFT = 14


def rgb_to_yuv(rgb: np.ndarray, mode: str) -> np.ndarray:
    """OpenCV COLOR_BGR2YUV, given RGB. mode "uint8" (integer path, rounded, offset 128) or "float" (0.5)."""
    if mode == "uint8":
        r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
        half = 1 << (_SHIFT - 1)
        y = (r * _IR2Y + g * _IG2Y + b * _IB2Y + half) >> _SHIFT
        delta = 128 << _SHIFT
        u = ((b - y) * _IB2U + delta + half) >> _SHIFT
        v = ((r - y) * _IR2V + delta + half) >> _SHIFT
        return np.clip(np.stack([y, u, v], axis=-1), 0, 255).astype(np.uint8)
    f = rgb.astype(np.float32)
    y = f[..., 0] * _R2Y + f[..., 1] * _G2Y + f[..., 2] * _B2Y
    return np.stack([y, (f[..., 2] - y) * _B2U + 0.5, (f[..., 0] - y) * _R2V + 0.5], axis=-1)


def yuv_to_rgb(yuv: np.ndarray, mode: str) -> np.ndarray:
    delta = 128.0 if mode == "uint8" else 0.5
    f = yuv.astype(np.float64)
    y, u, v = f[..., 0], f[..., 1] - delta, f[..., 2] - delta
    rgb = np.stack([y + _V2R * v, y + _U2G * u + _V2G * v, y + _U2B * u], axis=-1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8) if mode == "uint8" else rgb.astype(np.float32)


def u_channel(rgb: np.ndarray, mode: str) -> np.ndarray:
    """Only U is needed to decode; computing just it is 3x cheaper than a full conversion."""
    return u_channels(rgb, mode, ("bgr",))[0]


def u_channels(rgb: np.ndarray, mode: str, orders: tuple[str, ...] = ORDERS) -> list[np.ndarray]:
    """U as the embedder computed it, for each channel order, sharing the channel conversions.
    "bgr": the embedder saw our RGB reversed (its B is our B); "rgb": it saw our RGB as BGR (its B is our R)."""
    out = []
    if mode == "uint8":
        r, g, b = (rgb[..., i].astype(np.int32) for i in range(3))
        half, delta = 1 << (_SHIFT - 1), (128 << _SHIFT) + (1 << (_SHIFT - 1))
        g_part = g * _IG2Y + half
        for order in orders:
            blue, red = (b, r) if order == "bgr" else (r, b)
            y = (red * _IR2Y + g_part + blue * _IB2Y) >> _SHIFT
            out.append(np.clip(((blue - y) * _IB2U + delta) >> _SHIFT, 0, 255).astype(np.float64))
        return out
    f = rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    g_part = g * _G2Y
    for order in orders:
        blue, red = (b, r) if order == "bgr" else (r, b)
        y = red * _R2Y + g_part + blue * _B2Y
        out.append(((blue - y) * _B2U + 0.5).astype(np.float64))
    return out


def haar_ll(channel: np.ndarray) -> np.ndarray:
    """LL band of a one-level Haar DWT (equals pywt.dwt2(x, 'haar')[0]): each 2x2 sum divided by 2."""
    h, w = channel.shape[0] // 4 * 4, channel.shape[1] // 4 * 4
    c = channel[:h, :w]
    return (c[0::2, 0::2] + c[0::2, 1::2] + c[1::2, 0::2] + c[1::2, 1::2]) / 2.0


def _blocks(ll: np.ndarray) -> np.ndarray:
    rows, cols = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    ll = ll[:rows * BLOCK, :cols * BLOCK]
    return ll.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK * BLOCK)


def block_bits(rgb: np.ndarray, mode: str, order: str = "bgr") -> np.ndarray:
    """The raw bit read from every block, in embedding order (one pass serves every pattern length).
    NaN marks a flat block that carries no evidence (see the module docstring)."""
    return bits_of_u(u_channels(rgb, mode, (order,))[0])


def bits_of_u(u: np.ndarray) -> np.ndarray:
    flat = _blocks(haar_ll(u))
    mag = np.abs(flat[:, 1:])
    # Flat-art rule. With the 15 candidates sorted s0 <= s1 <= ... <= s14: all within FLAT_TOL -> skip; all but
    # the largest within it -> the largest is the odd one out, which argmax reads anyway; all but the smallest
    # within it -> read the smallest (bit 0 lowered the marked one below its tied neighbours).
    pos = np.argmax(mag, axis=1)
    rows = np.arange(mag.shape[0])
    below = np.count_nonzero(mag < (mag[rows, pos] - FLAT_TOL)[:, None], axis=1)  # candidates under the tie band
    all_flat, low_odd = below == 0, below == 1
    pos = np.where(low_odd, np.argmin(mag, axis=1), pos)
    bits = (np.mod(mag[rows, pos], SCALE) > 0.5 * SCALE).astype(np.float64)
    bits[all_flat] = np.nan
    return bits


def first_block_bits_orders(view: PixelView, mode: str, orders: tuple[str, ...] = ORDERS,
                            max_blocks: int = MAX_BLOCKS) -> dict[str, np.ndarray]:
    """block_bits of the first `max_blocks` blocks (rounded up to whole block rows) for each channel order,
    read in strips of STRIP_BLOCK_ROWS block rows. Every block carries its bit, so a fixed number of blocks
    decodes a mark as well as the whole image does, and the working set is one strip (~64 rows)."""
    height, width = view.shape[0] // 4 * 4, view.shape[1] // 4 * 4
    block_rows, block_cols = height // 2 // BLOCK, width // 2 // BLOCK
    if not block_rows or not block_cols:
        return {order: np.zeros(0, dtype=np.float64) for order in orders}
    wanted = min(block_rows, -(-max_blocks // block_cols))
    rows_per_block = 2 * BLOCK  # one LL block is 4x4 coefficients of 2x2 pixels
    strips: dict[str, list[np.ndarray]] = {order: [] for order in orders}
    for top in range(0, wanted, STRIP_BLOCK_ROWS):
        bottom = min(wanted, top + STRIP_BLOCK_ROWS)
        pixels = view.rows(top * rows_per_block, bottom * rows_per_block)[:, :width, :3]
        for order, u in zip(orders, u_channels(pixels, mode, orders), strict=True):
            strips[order].append(bits_of_u(u))
    return {order: np.concatenate(parts) for order, parts in strips.items()}


def decode(bits_per_block: np.ndarray, length: int) -> np.ndarray:
    """Average the block bits of each of `length` positions; bit = average > 0.5 (as the package does).
    Skipped (NaN) blocks do not vote; a position no block speaks for decodes as 2, which matches no bit."""
    if bits_per_block.size < length:
        return np.zeros(0, dtype=np.uint8)
    index = np.arange(bits_per_block.size) % length
    known = ~np.isnan(bits_per_block)
    sums = np.bincount(index[known], weights=bits_per_block[known], minlength=length)
    counts = np.bincount(index[known], minlength=length)
    bits = (sums * 255 > 127 * np.maximum(counts, 1)).astype(np.uint8)
    bits[counts == 0] = 2
    return bits


def encode(rgb: np.ndarray, bits: list[int] | np.ndarray, mode: str) -> np.ndarray:
    """Embed like the package (for test fixtures and the documentation of what we detect).

    mode "uint8": SD1/SD2 path, uint8 in and out. mode "float": SDXL path, float RGB 0..255 in; the result is
    rounded to uint8 the way diffusers turns its output into a PIL image.
    """
    import pywt  # only the encoder needs the full transform; PyWavelets is a test dependency

    bits = np.asarray(bits, dtype=np.int64)
    yuv = rgb_to_yuv(rgb, mode)
    h, w = yuv.shape[0] // 4 * 4, yuv.shape[1] // 4 * 4
    u = yuv[:h, :w, 1].astype(np.float64)
    ll, (dh, dv, dd) = pywt.dwt2(u, "haar")
    flat = _blocks(ll)
    pos = np.argmax(np.abs(flat[:, 1:]), axis=1) + 1
    rows = np.arange(flat.shape[0])
    val = flat[rows, pos]
    wm = bits[np.arange(flat.shape[0]) % bits.size]
    new = (np.abs(val) // SCALE + 0.25 + 0.5 * wm) * SCALE
    flat[rows, pos] = np.where(val >= 0, new, -new)
    nr, nc = ll.shape[0] // BLOCK, ll.shape[1] // BLOCK
    ll[:nr * BLOCK, :nc * BLOCK] = flat.reshape(nr, nc, BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(
        nr * BLOCK, nc * BLOCK)
    marked = pywt.idwt2((ll, (dv, dh, dd)), "haar")  # (V, H, D): the package's swap, kept on purpose
    if mode == "uint8":
        yuv[:h, :w, 1] = np.clip(marked, 0, 255).astype(np.uint8)  # numpy's float->uint8 cast truncates
        return yuv_to_rgb(yuv, "uint8")
    yuv = yuv.astype(np.float64)
    yuv[:h, :w, 1] = marked
    return np.clip(np.rint(yuv_to_rgb(yuv, "float")), 0, 255).astype(np.uint8)
