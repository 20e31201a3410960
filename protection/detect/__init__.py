"""AI-provenance detection: bytes in, an explainable Verdict out. A pure library (no DB, no network).

Layers, each its own module returning list[Evidence] and never raising on hostile input:
  c2pa       provenance.py  C2PA manifests (c2pa-python), validation state, digitalSourceType
  iptc       iptc.py        IPTC DigitalSourceType in XMP
  generator  generators.py  A1111 / ComfyUI / NovelAI metadata (incl. stealth LSB), known generator names
  watermark  watermark.py   Stable Diffusion invisible watermarks (dwtDct: SD1, SD2, SDXL)
  classifier classifier.py  optional ONNX model configured by the admin (selfcheck.py: refused on drift)

detect() is synchronous and CPU-bound; callers on an event loop run it in a thread or worker.
A "no_signal" verdict never means "human-made": it means none of these layers found a sign of AI.
"""

from __future__ import annotations

from dataclasses import replace

from protection.detect import classifier as _classifier
from protection.detect import coverage, generators, iptc, provenance, watermark
from protection.detect.classifier import NORMALISATIONS, ClassifierConfig
from protection.detect.classifier import self_check as classifier_self_check
from protection.detect.source import Source
from protection.detect.verdict import AI_ASSISTED, AI_GENERATED, NO_SIGNAL, Evidence, Verdict

__all__ = ["AI_ASSISTED", "AI_GENERATED", "NO_SIGNAL", "NORMALISATIONS", "ClassifierConfig", "Evidence", "Source",
           "Verdict", "classifier_self_check", "detect"]


def detect(data: bytes, *, classifier: ClassifierConfig | None = None,
           c2pa_trust_anchors: str | None = None) -> Verdict:
    """Run every layer over one file and combine the evidence.

    c2pa_trust_anchors: PEM certificates the admin trusts (e.g. the C2PA trust list); without them a
    correctly signed manifest is reported "Valid", never "Trusted".
    """
    src = Source(data)
    evidence: list[Evidence] = []
    evidence += provenance.scan(src, trust_anchors_pem=c2pa_trust_anchors)
    evidence += iptc.scan(src)
    evidence += generators.scan(src)
    evidence += watermark.scan(src)
    if classifier is not None:
        evidence += _classifier.scan(src, classifier)
    if src.image is None and not evidence:
        evidence.append(Evidence("generator", "not a readable image (JPEG, PNG, WebP or GIF); nothing checked",
                                 0.0, NO_SIGNAL, {"problems": src.problems[:5]}))
    # Coverage: which layers could have fired on this file, so "no signal" says what was not checkable.
    return replace(Verdict.combine(evidence), coverage=tuple(coverage.assess(src, classifier=classifier is not None)))
