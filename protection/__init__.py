"""Pure media protection library: bytes + policy in, bytes + report out. Imports nothing of cara-fed."""

from protection.mark import build_xmp, read_xmp
from protection.media import Derivative, MediaPolicy, MediaRejected, ProtectResult
from protection.pipeline import protect
from protection.sniff import peak_memory, probe, sniff_image_type

__all__ = [
    "Derivative",
    "MediaPolicy",
    "MediaRejected",
    "ProtectResult",
    "build_xmp",
    "peak_memory",
    "probe",
    "protect",
    "read_xmp",
    "sniff_image_type",
]
