"""Layer (a): C2PA manifests (Content Credentials), read and validated with c2pa-python.

Reports the claim generator, the validation state ("Trusted" only when the signer chains to a trust anchor
the admin configured; "Valid" = intact and correctly signed by an unlisted signer; "Invalid" = broken or
tampered) and every c2pa.actions digitalSourceType. No network: remote manifests and OCSP are not fetched.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Any

from protection.detect import xmp
from protection.detect.generators import catalogue
from protection.detect.iptc import AI_TYPES, term_of
from protection.detect.source import Source
from protection.detect.verdict import NO_SIGNAL, Evidence

# An AI claim in a manifest that is broken still says where the image came from, just less reliably.
_STATE_ADJUST = {"Trusted": 0.04, "Valid": 0.0, "Invalid": -0.2}
_STATE_WORDS = {"Trusted": "signed by a trusted signer", "Valid": "intact, signer not on our trust list",
                "Invalid": "INVALID: tampered or broken"}


@lru_cache(maxsize=4)
def _context(trust_anchors_pem: str | None) -> Any:
    import c2pa

    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_anchors_pem:
        settings["trust"] = {"trust_anchors": trust_anchors_pem}
    return c2pa.Context(c2pa.Settings.from_dict(settings))


def scan(src: bytes | Source, *, trust_anchors_pem: str | None = None) -> list[Evidence]:
    try:
        return _scan(Source.of(src), trust_anchors_pem)
    except Exception as exc:  # a layer never raises
        return [Evidence("c2pa", "C2PA data could not be read", 0.0, NO_SIGNAL, {"error": str(exc)[:200]})]


def _scan(src: Source, trust_anchors_pem: str | None) -> list[Evidence]:
    out = _remote_reference(src)
    # Embedded manifests live in a JUMBF box labelled "c2pa"; without those bytes there is nothing to read.
    if src.mime is None or b"c2pa" not in src.data:
        return out
    try:
        import c2pa
    except ImportError:
        return out + [Evidence("c2pa", "file may carry C2PA data but c2pa-python is not installed; not checked",
                               0.0, NO_SIGNAL, {})]
    try:
        with c2pa.Reader(src.mime, io.BytesIO(src.data), context=_context(trust_anchors_pem)) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc):
            return out
        if "Remote" in type(exc).__name__ or str(exc).startswith("Remote"):
            return out  # only a reference to a remote manifest: reported above
        return out + [Evidence("c2pa", "C2PA data present but unreadable", 0.0, NO_SIGNAL,
                               {"error": str(exc)[:200]})]
    return out + manifest_evidence(store)


def _remote_reference(src: Source) -> list[Evidence]:
    root = xmp.parse(src.xmp) if src.xmp else None
    return [Evidence("c2pa", "XMP points to a remote C2PA manifest; not fetched (detection does no network)",
                     0.0, NO_SIGNAL, {"url": url[:300]}) for url in xmp.values(root, xmp.DCTERMS, "provenance")[:3]]


def _generator_name(manifest: dict) -> str:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict):
        return " ".join(str(info[0].get(k, "")) for k in ("name", "version")).strip()
    return str(manifest.get("claim_generator", "unknown"))


def _source_types(manifest: dict) -> list[tuple[str, str]]:
    """(action, digitalSourceType) pairs from c2pa.actions / c2pa.actions.v2 assertions."""
    found = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if isinstance(action, dict) and action.get("digitalSourceType"):
                found.append((str(action.get("action", "")), str(action["digitalSourceType"])))
    return found


def manifest_evidence(store: dict) -> list[Evidence]:
    """Evidence from a manifest store as c2pa-python's Reader.json() returns it."""
    state = str(store.get("validation_state") or "Invalid")
    manifests = store.get("manifests") or {}
    active = store.get("active_manifest")
    failures = [s.get("code") for s in store.get("validation_status") or [] if isinstance(s, dict)]
    out: list[Evidence] = []
    ordered = sorted(manifests.items(), key=lambda kv: kv[0] != active)  # active manifest first
    for label, manifest in ordered[:10]:
        if not isinstance(manifest, dict):
            continue
        generator = _generator_name(manifest)
        base = {"claim_generator": generator[:120], "validation_state": state, "manifest": str(label)[:120],
                "active": label == active, "validation_codes": [str(c) for c in failures[:10]]}
        where = "C2PA manifest" if label == active else "C2PA ingredient manifest"
        ai = [(a, t) for a, t in _source_types(manifest) if term_of(t) in AI_TYPES]
        for action, value in list(dict.fromkeys(ai))[:5]:
            term = term_of(value)
            kind, weight, meaning = AI_TYPES[term]
            weight = min(0.99, max(0.05, weight + _STATE_ADJUST.get(state, -0.2)))
            out.append(Evidence("c2pa", f"{where} from '{generator[:60]}' ({_STATE_WORDS.get(state, state)}) "
                                f"records {action or 'an action'} with digitalSourceType '{term}' ({meaning})",
                                weight, kind, {**base, "digital_source_type": value[:200], "action": action}))
        if ai:
            continue
        named = next((g for g in catalogue() if any(p.search(generator) for p in g["software"])), None)
        if named:
            out.append(Evidence("c2pa", f"{where} claim generator '{generator[:60]}' is a known AI generator "
                                f"({named['name']}; {_STATE_WORDS.get(state, state)})", 0.6 if state != "Invalid"
                                else 0.4, named["label"], {**base, "generator": named["name"]}))
        elif label == active:
            types = sorted({term_of(t) for _, t in _source_types(manifest)})
            out.append(Evidence("c2pa", f"{where} from '{generator[:60]}' ({_STATE_WORDS.get(state, state)}), "
                                "no AI source type recorded", 0.0, NO_SIGNAL, {**base, "digital_source_types": types}))
    return out
