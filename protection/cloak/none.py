"""The `none` engine: the image passes through untouched (and the report says so)."""

from __future__ import annotations

from protection.cloak.base import CloakResult, CloakSettings, Progress


class NoneEngine:
    name = "none"
    version = "1"

    def unavailable_reason(self) -> str | None:
        return None

    def cloak(self, data: bytes, settings: CloakSettings, progress: Progress | None = None) -> CloakResult:
        if progress is not None:
            progress(1.0, 0.0)
        return CloakResult(data, {"engine": self.name, "version": self.version, "changed": False})
