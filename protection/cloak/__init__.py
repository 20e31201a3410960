"""Cloaking engines: PNG bytes of the served-size image + settings in, cloaked bytes + a report out.

    engine = get_engine("adversarial")          # or "none", or "external" with its command
    if (why := engine.unavailable_reason()): ... # say so; never fail silently
    result = engine.cloak(png, CloakSettings(seed=42), progress)
    figures = panel(png, result.data, settings) # the protection panel (needs torch)

docs/cloaking.md has the threat model and what this does and does not resist.
"""

from __future__ import annotations

from protection.cloak.adversarial import AdversarialEngine, panel
from protection.cloak.base import (
    CloakCancelled,
    CloakError,
    CloakResult,
    CloakSettings,
    CloakUnavailable,
    Engine,
    Progress,
)
from protection.cloak.external import ExternalEngine
from protection.cloak.none import NoneEngine

ENGINES = ("adversarial", "external", "none")


def get_engine(name: str, *, command: list[str] | tuple[str, ...] = (), timeout: float = 600.0,
               concurrency: int = 1, version: str = "") -> Engine:
    if name == "adversarial":
        return AdversarialEngine()
    if name == "external":
        return ExternalEngine(command, timeout, concurrency, version)
    if name == "none":
        return NoneEngine()
    raise ValueError(f"unknown cloaking engine {name!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "AdversarialEngine", "CloakCancelled", "CloakError", "CloakResult", "CloakSettings",
           "CloakUnavailable", "Engine", "ExternalEngine", "NoneEngine", "Progress", "get_engine", "panel"]
