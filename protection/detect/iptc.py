"""Layer (b): IPTC DigitalSourceType declared in the file's XMP (JPEG APP1, PNG iTXt, WebP XMP chunk).

Vocabulary: https://cv.iptc.org/newscodes/digitalsourcetype/ . A declaration is the creator's (or their
tool's) own statement; it is easy to strip and easy to add, so it is strong evidence when it says AI and
no evidence of anything when it is absent.
"""

from __future__ import annotations

from protection.detect import xmp
from protection.detect.source import Source
from protection.detect.verdict import AI_ASSISTED, AI_GENERATED, NO_SIGNAL, Evidence

# term -> (label, weight, plain-language meaning)
AI_TYPES: dict[str, tuple[str, float, str]] = {
    "trainedAlgorithmicMedia": (AI_GENERATED, 0.95, "created by a generative AI model"),
    "compositeWithTrainedAlgorithmicMedia": (AI_ASSISTED, 0.85, "a composite that includes generative-AI parts"),
    "algorithmicallyEnhanced": (AI_ASSISTED, 0.4, "enhanced or corrected by an algorithm"),
    "compositeSynthetic": (AI_ASSISTED, 0.4, "a composite with at least one synthetic element"),
}
# Declared, not AI: reported for the record with weight 0.
OTHER_TYPES = {
    "digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "humanEdits",
    "minorHumanEdits", "compositeCapture", "composite", "digitalArt", "digitalCreation", "virtualRecording",
    "dataDrivenMedia", "algorithmicMedia", "screenCapture",
}


def term_of(value: str) -> str:
    """'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia' -> 'trainedAlgorithmicMedia'."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def scan(src: bytes | Source) -> list[Evidence]:
    try:
        return _scan(Source.of(src))
    except Exception as exc:  # a layer never raises: an unreadable packet is a finding, not a crash
        return [Evidence("iptc", "XMP could not be read", 0.0, NO_SIGNAL, {"error": type(exc).__name__})]


def _scan(src: Source) -> list[Evidence]:
    packet = src.xmp
    if not packet:
        return []
    root = xmp.parse(packet)
    if root is None:
        return [Evidence("iptc", "XMP packet present but not well-formed XML; not read", 0.0, NO_SIGNAL, {})]
    out: list[Evidence] = []
    for value in xmp.values(root, xmp.IPTC_EXT, "DigitalSourceType")[:10]:
        term = term_of(value)
        details = {"digital_source_type": value[:300]}
        if term in AI_TYPES:
            label, weight, meaning = AI_TYPES[term]
            out.append(Evidence("iptc", f"XMP declares IPTC DigitalSourceType '{term}' ({meaning})",
                                weight, label, details))
        elif term in OTHER_TYPES:
            out.append(Evidence("iptc", f"XMP declares IPTC DigitalSourceType '{term}' (not an AI source type)",
                                0.0, NO_SIGNAL, details))
        else:
            out.append(Evidence("iptc", f"XMP declares an unknown DigitalSourceType '{term[:80]}'",
                                0.0, NO_SIGNAL, details))
    return out
