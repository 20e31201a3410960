"""Evidence and Verdict: what each detection layer found, and how the findings combine.

A verdict is explainable by construction: its score and label are computed from the evidence list and
nothing else, so a moderator (or the artist appealing) can see exactly why an image was flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LAYERS = ("c2pa", "iptc", "generator", "watermark", "classifier")
AI_GENERATED, AI_ASSISTED, NO_SIGNAL = "ai_generated", "ai_assisted", "no_signal"
LABELS = (AI_GENERATED, AI_ASSISTED, NO_SIGNAL)
_RANK = {NO_SIGNAL: 0, AI_ASSISTED: 1, AI_GENERATED: 2}
JSON_VERSION = 1


@dataclass(frozen=True)
class Evidence:
    """One finding of one layer.

    layer: "c2pa" | "iptc" | "generator" | "watermark" | "classifier"
    finding: a short sentence a person can read ("PNG text chunk 'parameters' (Automatic1111 ...)")
    weight: 0..1, how strongly this finding alone indicates AI involvement (0 = informational only)
    label: what this finding alone suggests: "ai_generated" | "ai_assisted" | "no_signal"
    details: small JSON-safe dict for machines and curious moderators
    """

    layer: str
    finding: str
    weight: float
    label: str
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}")
        w = float(self.weight)
        if not math.isfinite(w):
            w = 0.0
        object.__setattr__(self, "weight", min(1.0, max(0.0, w)))

    def to_json(self) -> dict[str, Any]:
        return {"layer": self.layer, "finding": self.finding, "weight": self.weight, "label": self.label,
                "details": self.details}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Evidence:
        label = raw.get("label", NO_SIGNAL)
        return cls(layer=str(raw.get("layer", "")), finding=str(raw.get("finding", "")),
                   weight=float(raw.get("weight", 0.0)), label=label if label in LABELS else NO_SIGNAL,
                   details=dict(raw.get("details") or {}))


@dataclass(frozen=True)
class Verdict:
    """score = 1 - prod(1 - weight) over the evidence; label = the strongest label among evidence with
    weight > 0 (ai_generated > ai_assisted > no_signal).

    "no_signal" means only that none of the layers found a sign of AI. It NEVER means the image is
    human-made: metadata is stripped by most re-encodes and screenshots, watermarks by resizing, and
    classifiers miss. Show it as "no AI signal found", not as "human-made" or "verified".
    """

    score: float
    label: str
    evidence: tuple[Evidence, ...] = ()
    # Which checks could have fired on the file (coverage.py): {"check", "name", "applies", "why"[, "image"]}.
    # Empty for verdicts stored before it existed.
    coverage: tuple[dict, ...] = ()

    @property
    def not_applicable(self) -> tuple[dict, ...]:
        return tuple(c for c in self.coverage if not c.get("applies"))

    @classmethod
    def combine(cls, evidence: list[Evidence] | tuple[Evidence, ...]) -> Verdict:
        evidence = tuple(evidence)
        keep = 1.0
        label = NO_SIGNAL
        for item in evidence:
            keep *= 1.0 - item.weight
            if item.weight > 0 and _RANK[item.label] > _RANK[label]:
                label = item.label
        return cls(score=round(1.0 - keep, 6), label=label, evidence=evidence)

    def to_json(self) -> dict[str, Any]:
        return {"version": JSON_VERSION, "score": self.score, "label": self.label,
                "evidence": [e.to_json() for e in self.evidence], "coverage": [dict(c) for c in self.coverage]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Verdict:
        """Rebuild from a stored JSON column. Score and label are stored as computed at the time (so a later
        change of weights never silently rewrites a past decision)."""
        evidence = tuple(Evidence.from_json(e) for e in raw.get("evidence") or ())
        label = raw.get("label", NO_SIGNAL)
        coverage = tuple({"check": str(c.get("check", "")), "name": str(c.get("name", "")),
                          "applies": bool(c.get("applies")), "why": str(c.get("why", "")),
                          **({"image": int(c["image"])} if isinstance(c.get("image"), int) else {})}
                         for c in raw.get("coverage") or () if isinstance(c, dict))
        return cls(score=float(raw.get("score", 0.0)), label=label if label in LABELS else NO_SIGNAL,
                   evidence=evidence, coverage=coverage)
