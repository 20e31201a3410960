"""Layer (c): metadata that AI generators write: A1111 `parameters`, ComfyUI `prompt`/`workflow`, NovelAI
text chunks and its alpha-channel stealth format, and known generator names in EXIF/XMP/PNG fields.

The list of generator names lives in generators.json (a data file admins can extend). All of this is
stripped by any re-encode that does not copy metadata, so absence means nothing.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from protection.detect import stealth, xmp
from protection.detect.source import Source
from protection.detect.verdict import AI_GENERATED, NO_SIGNAL, Evidence

# Two linear searches, not one `Steps.*Sampler` regex: that backtracks quadratically on hostile text.
A1111_STEPS_RE = re.compile(r"\bSteps: ?\d+")
A1111_KEYS_RE = re.compile(r"\b(?:Sampler|CFG scale|Seed|Model hash|Size): ")
A1111_SCAN_CHARS = 65536  # real parameter blocks are a few KiB
SOFTWARE_KEYS = ("Software", "Source", "Generator", "Make", "Model")  # PNG text keys and EXIF tags
FREE_TEXT_KEYS = ("Description", "Comment", "comment", "Title", "ImageDescription", "UserComment", "Author")
NOVELAI_COMMENT_KEYS = {"steps", "sampler", "scale", "uc", "n_samples", "noise_schedule", "request_type"}


@lru_cache(maxsize=1)
def catalogue() -> list[dict]:
    """generators.json, regexes compiled once."""
    raw = json.loads(resources.files("protection.detect").joinpath("generators.json").read_text("utf-8"))
    out = []
    for entry in raw["generators"]:
        out.append({
            "name": entry["name"],
            "software": [re.compile(p, re.I) for p in entry.get("software", [])],
            "text": [re.compile(p, re.I) for p in entry.get("text", [])],
            "png_keys": set(entry.get("png_keys", [])),
            "label": entry.get("label", AI_GENERATED),
            "weight": float(entry.get("weight", 0.8)),
        })
    return out


def scan(src: bytes | Source) -> list[Evidence]:
    try:
        return _scan(Source.of(src))
    except Exception as exc:  # a layer never raises
        return [Evidence("generator", "generator metadata could not be read", 0.0, NO_SIGNAL,
                         {"error": type(exc).__name__})]


def _ev(finding: str, weight: float, details: dict, label: str = AI_GENERATED) -> Evidence:
    return Evidence("generator", finding, weight, label, details)


def _snippet(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "\u2026"


def _json(text: str) -> object:
    try:
        return json.loads(text) if text.lstrip()[:1] in ("{", "[") else None
    except ValueError:
        return None


def looks_like_a1111(text: str) -> bool:
    """`Steps: N` followed within its settings line(s) by Sampler/CFG scale/Seed/Model hash/Size."""
    head = text[:A1111_SCAN_CHARS]
    steps = A1111_STEPS_RE.search(head)
    return bool(steps and A1111_KEYS_RE.search(head, steps.end(), steps.end() + 4000))


def parameters_evidence(text: str, where: str) -> Evidence | None:
    """The `parameters` convention (A1111, Forge, SD.Next, Fooocus, SwarmUI, Civitai all write it)."""
    if looks_like_a1111(text):
        return _ev(f"{where} holds Stable Diffusion generation parameters (Automatic1111 / SD web UI format)",
                   0.9, {"source": where, "excerpt": _snippet(text)})
    data = _json(text)
    if isinstance(data, dict):
        keys = {k.lower() for k in data}
        tool = ("SwarmUI" if "sui_image_params" in keys else "Fooocus" if any("fooocus" in k for k in keys)
                or "fooocus" in text[:4000].lower() else "a Stable Diffusion tool")
        if keys & {"prompt", "steps", "sampler", "seed", "sui_image_params", "base_model", "cfg_scale"}:
            return _ev(f"{where} holds generation parameters as JSON ({tool})", 0.9,
                       {"source": where, "keys": sorted(keys)[:20]})
    return None


def _png_chunks(text: dict[str, str]) -> list[Evidence]:
    out: list[Evidence] = []
    if "parameters" in text:
        ev = parameters_evidence(text["parameters"], "PNG text chunk 'parameters'")
        out.append(ev or _ev("PNG text chunk 'parameters' (the key Stable Diffusion tools write), content not "
                             "recognised", 0.4, {"excerpt": _snippet(text["parameters"])}))
    prompt = _json(text.get("prompt", ""))
    if isinstance(prompt, dict) and any(isinstance(v, dict) and "class_type" in v for v in prompt.values()):
        classes = sorted({v["class_type"] for v in prompt.values() if isinstance(v, dict) and "class_type" in v})
        out.append(_ev("PNG text chunk 'prompt' holds a ComfyUI node graph", 0.9,
                       {"node_types": [str(c)[:60] for c in classes[:20]]}))
    workflow = _json(text.get("workflow", ""))
    if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        types = sorted({str(n.get("type"))[:60] for n in workflow["nodes"] if isinstance(n, dict)})
        out.append(_ev("PNG text chunk 'workflow' holds a ComfyUI workflow", 0.85, {"node_types": types[:20]}))
    comment = _json(text.get("Comment", ""))
    if isinstance(comment, dict) and len(NOVELAI_COMMENT_KEYS & set(comment)) >= 2:
        out.append(_ev("PNG text chunk 'Comment' holds NovelAI generation settings", 0.9,
                       {"keys": sorted(comment)[:20]}))
    for gen in catalogue():
        for key in sorted(gen["png_keys"] & set(text)):
            out.append(_ev(f"PNG text chunk '{key}' ({gen['name']})", 0.85, {"generator": gen["name"], "key": key},
                           gen["label"]))
    return out


def _named(fields: dict[str, str], patterns: str, what: str) -> list[Evidence]:
    out: list[Evidence] = []
    seen: set[str] = set()
    for field, value in fields.items():
        for gen in catalogue():
            if gen["name"] in seen:
                continue
            for pattern in gen[patterns]:
                if pattern.search(value[:20000]):
                    seen.add(gen["name"])
                    out.append(_ev(f"{field} {what} {gen['name']} ({_snippet(value, 60)!r})", gen["weight"],
                                   {"field": field, "generator": gen["name"], "value": _snippet(value)},
                                   gen["label"]))
                    break
    return out


def _scan(src: Source) -> list[Evidence]:
    out: list[Evidence] = []
    text, exif = src.text, src.exif
    out += _png_chunks(text)
    if "UserComment" in exif:
        ev = parameters_evidence(exif["UserComment"], "EXIF UserComment")
        if ev:
            out.append(ev)
    for key in ("comment", "Description", "ImageDescription"):
        value = text.get(key) or exif.get(key)
        if value and looks_like_a1111(value):
            out.append(parameters_evidence(value, f"'{key}'"))  # type: ignore[arg-type]
    software = {f"PNG '{k}'": v for k, v in text.items() if k in SOFTWARE_KEYS}
    software |= {f"EXIF {k}": v for k, v in exif.items() if k in SOFTWARE_KEYS}
    root = xmp.parse(src.xmp) if src.xmp else None
    for tool in xmp.values(root, xmp.XMP_BASIC, "CreatorTool")[:5]:
        software["XMP CreatorTool"] = tool
    out += _named(software, "software", "names")
    free = {f"PNG '{k}'": v for k, v in text.items() if k in FREE_TEXT_KEYS}
    free |= {f"EXIF {k}": v for k, v in exif.items() if k in FREE_TEXT_KEYS}
    named = {e.details["generator"] for e in out if "generator" in e.details}
    out += [e for e in _named(free, "text", "mentions") if e.details["generator"] not in named]
    out += _stealth(src)
    return out


def _stealth(src: Source) -> list[Evidence]:
    view = src.view if src.mime in ("image/png", "image/webp") else None  # lossless formats only
    found = stealth.read(view)
    if found is None:
        return []
    magic, payload = found
    if isinstance(payload, dict):
        software = str(payload.get("Software", ""))
        details = {"magic": magic, "keys": sorted(payload)[:20], "software": software[:80]}
        return [_ev(f"Pixel LSBs hold NovelAI '{magic}' metadata"
                    + (f" (Software: {software[:40]})" if software else ""), 0.95, details)]
    details = {"magic": magic, "excerpt": _snippet(payload)}
    weight = 0.95 if looks_like_a1111(payload) else 0.85
    return [_ev(f"Pixel LSBs hold '{magic}' generation metadata (NovelAI / stealth-pnginfo format)", weight, details)]
