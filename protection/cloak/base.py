"""The engine interface: PNG bytes of the image as it will be served + settings in, bytes + report out.

An engine never decides policy (who is cloaked, what is published); it only transforms pixels and says
what it did. Everything here is plain data, importable without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

# Called now and then with (fraction done 0..1, estimated seconds left or None). It may raise
# CloakCancelled to stop the engine, which then cleans up and re-raises it.
Progress = Callable[[float, float | None], None]


class CloakError(Exception):
    """The engine could not cloak this image. `code` is for machines, `message` for the artist and admin."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args: it pickles and repr()s usefully
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class CloakUnavailable(CloakError):
    """The engine cannot run here at all (torch or its weights missing, no external command configured)."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message)


class CloakCancelled(Exception):
    """Raised through the progress callback when the artist cancels."""


@dataclass(frozen=True)
class CloakSettings:
    """What the built-in engine aims for. The defaults are the ones the bench measures (docs/cloaking.md)."""

    seed: int = 0
    steps: int = 30  # optimisation steps (each averages `views` random transformations)
    views: int = 2
    target_psnr: float = 33.0  # dB: the perturbation is scaled down until the image is at least this close
    epsilon: float = 24 / 255  # largest change of one channel of one pixel, in textured areas
    work_edge: int = 512  # short edge of the working copy the perturbation is optimised on
    feature_weight: float = 0.5  # weight of each of CLIP's mid-level feature terms beside the embedding's
    threads: int = 2  # torch threads for this job
    measure: bool = True  # compute the protection panel's figures after cloaking
    served_quality: int = 85  # our own JPEG derivative quality, the first transformation a served image sees

    def __post_init__(self) -> None:
        if self.steps < 1 or self.views < 1 or self.threads < 1:
            raise ValueError("steps, views and threads must be at least 1")
        if not 20.0 <= self.target_psnr <= 60.0:
            raise ValueError("target_psnr must be within 20..60 dB")
        if not 0.0 < self.epsilon <= 0.25:
            raise ValueError("epsilon must be within (0, 0.25]")
        if not 0.0 <= self.feature_weight <= 4.0:
            raise ValueError("feature_weight must be within [0, 4]")
        if self.work_edge < 64:
            raise ValueError("work_edge must be at least 64 px")


@dataclass(frozen=True)
class CloakResult:
    data: bytes  # the cloaked image, PNG (the caller encodes its derivatives from it)
    report: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"CloakResult({len(self.data)} bytes, report keys {sorted(self.report)})"


class Engine(Protocol):
    name: str
    version: str

    def unavailable_reason(self) -> str | None:
        """None when the engine can run here, else why not (in words an admin can act on)."""

    def cloak(self, data: bytes, settings: CloakSettings, progress: Progress | None = None) -> CloakResult: ...
