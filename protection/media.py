"""Plain data of the media pipeline: the policy going in, the result coming out, the refusal.

No Pillow here, so callers (web forms, the API, the worker) can import these cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUPPORTED_FORMATS = ("webp", "jpeg")
WEBP_MAX_EDGE = 16383  # the WebP format's own limit; JPEG's (65500) is higher


@dataclass(frozen=True)
class MediaPolicy:
    """What to accept and what to produce for one upload."""

    max_bytes: int = 40 * 1024 * 1024
    # Decompression-bomb guard: checked from the header, before any pixel is decoded.
    max_pixels: int = 60_000_000
    # Long edge in px. Never upscaled: a size larger than the source is skipped, except that the
    # smallest such slot carries the source at full size, so there is always at least one derivative.
    sizes: tuple[int, ...] = (2560, 1280, 400)
    # Every size in every format; "jpeg" is the universal fallback.
    formats: tuple[str, ...] = ("webp", "jpeg")
    jpeg_quality: int = 85
    webp_quality: int = 82
    noai: bool = True
    creator: str | None = None
    copyright: str | None = None
    license_url: str | None = None
    # IPTC DigitalSourceType IRI, e.g. http://cv.iptc.org/newscodes/digitalsourcetype/digitalCreation
    digital_source_type: str | None = None
    # Serve the source's own pixels at the largest size (a remote work that says it is cloaked): metadata
    # is stripped losslessly and ours stamped, nothing is re-encoded. Smaller sizes are made as usual.
    keep_pixels: bool = False

    def __post_init__(self) -> None:
        # A bad policy is a configuration bug, not a bad upload: fail loudly with ValueError.
        if self.max_bytes <= 0 or self.max_pixels <= 0:
            raise ValueError("max_bytes and max_pixels must be positive")
        if not self.sizes or any(not 0 < s <= WEBP_MAX_EDGE for s in self.sizes):
            raise ValueError(f"sizes must be a non-empty tuple of long edges within 1..{WEBP_MAX_EDGE}")
        unknown = [f for f in self.formats if f not in SUPPORTED_FORMATS]
        if not self.formats or unknown:
            raise ValueError(f"formats must be a non-empty subset of {SUPPORTED_FORMATS}, got {self.formats}")
        for q in (self.jpeg_quality, self.webp_quality):
            if not 1 <= q <= 100:
                raise ValueError("qualities must be within 1..100")


class MediaRejected(Exception):
    """The upload cannot be used. `code` is for machines, `message` is for the artist."""

    CODES = ("empty", "too_large", "unsupported_type", "too_many_pixels", "corrupt")

    def __init__(self, code: str, message: str) -> None:
        # Both in args so the exception pickles (job queues) and repr()s usefully.
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Derivative:
    long_edge: int  # the size slot it was made for (its real long edge may be smaller)
    format: str  # "webp" | "jpeg"
    width: int
    height: int
    content_type: str
    data: bytes

    def __repr__(self) -> str:  # keep megabytes of image data out of logs and test failures
        return (
            f"Derivative(long_edge={self.long_edge}, format={self.format!r}, "
            f"{self.width}x{self.height}, {len(self.data)} bytes)"
        )


@dataclass(frozen=True)
class ProtectResult:
    derivatives: list[Derivative]
    width: int  # of the oriented source
    height: int
    source_type: str  # sniffed MIME type of the input
    blurhash: str
    focal_point: tuple[float, float]  # Mastodon convention: x, y in [-1, 1], (0, 0) is the centre
    report: dict[str, Any] = field(default_factory=dict)

    def best(self, fmt: str = "jpeg") -> Derivative:
        """The largest derivative in `fmt`, e.g. for the federated attachment URL."""
        return max((d for d in self.derivatives if d.format == fmt), key=lambda d: d.width * d.height)
