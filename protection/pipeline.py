"""protect(): bytes + policy in, marked derivatives + an explainable report out."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PIL import Image

from protection import derivatives as deriv
from protection import sanitize
from protection.mark import build_xmp
from protection.media import Derivative, MediaPolicy, ProtectResult
from protection.passthrough import keep_pixels
from protection.sniff import check_bytes, open_guarded

# Below this many output pixels in all, handing encodes to threads costs more than it saves.
_INLINE_PIXELS = 1_000_000
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _encoder_pool() -> ThreadPoolExecutor:
    """One small process-wide pool for resize bands and encodes. Pillow releases the GIL while resampling
    and JPEG-encoding (not while WebP-encoding), so the encodes of one size overlap the resizing of the next.
    Shared, so many concurrent uploads cannot multiply threads per core. protect() never runs on it, so
    waiting on it cannot deadlock."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)),
                                       thread_name_prefix="protection-encode")
        return _pool


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + (now - self.last) * 1000, 1)
        self.last = now


# (image at the largest served size) -> (cloaked image of the same size, report). See protection/cloak.
CloakHook = Callable[[Image.Image], tuple[Image.Image, dict]]


def protect(data: bytes, policy: MediaPolicy = MediaPolicy(), cloak: CloakHook | None = None) -> ProtectResult:
    """Validate, sanitize, resize, encode and mark an upload. CPU-bound and synchronous: run it in a thread.

    `cloak`, if given, transforms the image at the largest served size, before any derivative is made from
    it (a cloak resized afterwards would be destroyed). Raises MediaRejected for anything wrong with the data
    itself, and whatever the cloak hook raises.
    """
    clock = _Clock()
    mime = check_bytes(data, policy)
    im = open_guarded(data, mime, policy)
    clock.lap("validate")
    # No `with im:` — closing would free the pixels, and `first` may be that very image for small sources;
    # the only file object is our own BytesIO.
    raw_w, raw_h = im.size
    plan = deriv.plan_sizes(max(raw_w, raw_h), policy.sizes)
    animated = sanitize.is_animated(im, mime)  # first frame only (v1)
    draft = sanitize.decode(im, mime, plan[0][1])
    stripped, orientation, icc = sanitize.inventory(im, mime)
    clock.lap("decode")
    swapped = sanitize.swaps_axes(orientation)
    width, height = (raw_h, raw_w) if swapped else (raw_w, raw_h)
    # Resize before rotating and converting colour: both then touch ~2.5x fewer pixels.
    top_w, top_h = deriv.fit(width, height, plan[0][1])
    pool = _encoder_pool()
    first = deriv.resize(sanitize.resamplable(im), (top_h, top_w) if swapped else (top_w, top_h), pool)
    first, colour = sanitize.to_srgb(first, icc)
    first = sanitize.orient(first, orientation)
    if first is im:
        first = im.copy()  # never mutate (info.clear) the decoded source object we were handed
    first.info.clear()  # belt and braces: JPEG save would otherwise re-emit a source comment
    source_mode = im.mode
    # Everything below works from `first`: let the full-size decode go now, so the encodes of big images
    # do not run on top of it (peak memory is the decode plus one resize, not the decode plus every encode).
    im.close()
    del im
    clock.lap("transform")
    cloak_report = None
    if cloak is not None:
        first, cloak_report = cloak(first)
        clock.lap("cloak")

    xmp = build_xmp(policy)
    inline = sum(w * h for w, h in (deriv.fit(width, height, t) for _, t in plan)) < _INLINE_PIXELS
    jobs: list[tuple[int, str, Image.Image, Future[bytes] | bytes]] = []
    encode_ms: list[float] = []

    def encode(img: Image.Image, fmt: str) -> bytes:
        t0 = time.perf_counter()
        out = deriv.encode(img, fmt, policy, xmp)
        encode_ms.append((time.perf_counter() - t0) * 1000)
        return out

    def submit(img: Image.Image, fmt: str) -> Future[bytes] | bytes:
        return encode(img, fmt) if inline else pool.submit(encode, img, fmt)

    # A remote work that says it is cloaked keeps its own pixels at the top size (protection/passthrough.py).
    kept = None
    if (policy.keep_pixels and (raw_w, raw_h) == first.size and orientation in (0, 1)
            and not (colour or {}).get("converted")):
        kept = keep_pixels(data, mime, xmp) or ("webp", _lossless_webp(first, xmp))
    current = first
    for i, (slot, target) in enumerate(plan):
        if i:  # cascade: each size from the previous one, not from the full source
            current = deriv.resize(current, deriv.fit(width, height, target), pool)
        if i == 0 and kept is not None:
            jobs.append((slot, kept[0], current, kept[1]))
            continue
        for fmt in policy.formats:
            jobs.append((slot, fmt, current, submit(current, fmt)))
    clock.lap("resize")
    bhash = deriv.blurhash_of(current)
    clock.lap("blurhash")
    results = [
        Derivative(slot, fmt, img.width, img.height, deriv.CONTENT_TYPES[fmt],
                   job.result() if isinstance(job, Future) else job)
        for slot, fmt, img, job in jobs
    ]
    clock.lap("encode_wait")  # what was left of the encodes after the last resize
    clock.laps["encode_sum"] = round(sum(encode_ms), 1)
    clock.laps["total"] = round((time.perf_counter() - clock.start) * 1000, 1)

    report: dict[str, Any] = {
        "source": {"type": mime, "bytes": len(data), "mode": source_mode, "width": width, "height": height},
        "stripped": stripped,
        "orientation": orientation,
        "colour": colour or {"description": None, "converted": False},
        "draft_scale": draft,
        "animated": animated,
        "fast_path": inline,
        "sizes": [{"slot": s, "long_edge": t} for s, t in plan],
        "bytes_out": sum(len(d.data) for d in results),
        "timings_ms": clock.laps,
    }
    if animated:
        report["note"] = "Animated image: only the first frame was kept."
    if cloak_report is not None:
        report["cloak"] = cloak_report
    if kept is not None:
        report["kept_origin_pixels"] = True
    return ProtectResult(results, width, height, mime, bhash, (0.0, 0.0), report)


def _lossless_webp(im: Image.Image, xmp: bytes) -> bytes:
    out = io.BytesIO()
    im.save(out, "WEBP", lossless=True, exact=True, xmp=xmp)
    return out.getvalue()
