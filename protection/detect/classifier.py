"""Layer (e): an optional ONNX image classifier the admin plugs in (model path, input size, normalisation,
threshold, which output is "AI"). Off unless configured. Its output is a statistical guess, so it is
weighted by how far past the threshold it is and is never the only thing a moderator should rely on.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from protection.detect import selfcheck
from protection.detect.source import Source
from protection.detect.verdict import AI_ASSISTED, AI_GENERATED, NO_SIGNAL, Evidence

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
NORMALISATIONS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "clip": (CLIP_MEAN, CLIP_STD)}


@dataclass(frozen=True)
class ClassifierConfig:
    """model_path: an .onnx file with one image input (N, 3, H, W) float32 and one output.
    positive_index: which element of the output row is the "AI" score (0 for a single-value output).
    activation: how to turn the output into a probability: "auto" (already in [0, 1] -> as is; one value ->
    sigmoid; several -> softmax), "softmax", "sigmoid" or "none".
    resize: "center_crop" (shorter side to input_size, then centre crop, like CLIP) or "stretch".
    """

    model_path: str
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    threshold: float = 0.5
    positive_index: int = 1
    label: str = AI_GENERATED
    activation: str = "auto"
    resize: str = "center_crop"
    name: str = "classifier"


class ClassifierRefused(RuntimeError):
    """The model failed its start-up self-check on this server (selfcheck.py); the slot stays empty."""


_sessions: dict[tuple[str, float], tuple[Any, selfcheck.Result]] = {}
_lock = threading.Lock()


def self_check(path: str) -> selfcheck.Result:
    """Load the model (once per file version) and run its self-check; the result is kept with the session."""
    import onnxruntime as ort

    key = (os.path.abspath(path), os.path.getmtime(path))
    with _lock:
        if key not in _sessions:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1  # the worker already runs jobs in parallel
            session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
            _sessions[key] = (session, selfcheck.check_session(session, os.path.basename(path)))
        return _sessions[key][1]


def _session(path: str) -> Any:
    """One InferenceSession per model file (reloaded when the file changes); sessions are thread-safe. A model
    that failed its self-check is refused, every time, with the check's message."""
    result = self_check(path)
    if not result.ok:
        raise ClassifierRefused(result.message)
    return _sessions[(os.path.abspath(path), os.path.getmtime(path))][0]


def preprocess(image: Image.Image, config: ClassifierConfig) -> np.ndarray:
    """RGB, resize (bicubic), scale to 0..1, normalise per channel, NCHW float32 with N = 1."""
    size = int(config.input_size)
    # An RGB image is used as it is: convert() would copy all of a large decoded image.
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    if config.resize == "stretch":
        rgb = rgb.resize((size, size), Image.Resampling.BICUBIC)
    else:
        scale = size / min(rgb.size)
        w, h = max(size, round(rgb.width * scale)), max(size, round(rgb.height * scale))
        rgb = rgb.resize((w, h), Image.Resampling.BICUBIC)
        left, top = (w - size) // 2, (h - size) // 2
        rgb = rgb.crop((left, top, left + size, top + size))
    arr = np.asarray(rgb, dtype=np.float32) / 255.0
    arr = (arr - np.asarray(config.mean, dtype=np.float32)) / np.asarray(config.std, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def probability(output: np.ndarray, config: ClassifierConfig) -> float:
    row = np.asarray(output, dtype=np.float64).reshape(-1)
    index = config.positive_index if row.size > 1 else 0
    act = config.activation
    if act == "auto":
        in_unit = bool(np.all((row >= 0) & (row <= 1)))
        act = "none" if in_unit and (row.size == 1 or abs(row.sum() - 1) < 1e-3) else (
            "sigmoid" if row.size == 1 else "softmax")
    if act == "softmax":
        e = np.exp(row - row.max())
        return float(e[index] / e.sum())
    if act == "sigmoid":
        return float(1 / (1 + np.exp(-row[index])))
    return float(np.clip(row[index], 0.0, 1.0))


def scan(src: bytes | Source, config: ClassifierConfig) -> list[Evidence]:
    try:
        return _scan(Source.of(src), config)
    except ClassifierRefused as exc:
        return [Evidence("classifier", str(exc), 0.0, NO_SIGNAL, {"refused": True, "model": os.path.basename(
            config.model_path)})]
    except Exception as exc:  # a missing or broken model is reported, never fatal
        return [Evidence("classifier", f"classifier '{config.name}' could not run", 0.0, NO_SIGNAL,
                         {"error": f"{type(exc).__name__}: {str(exc)[:200]}", "model": os.path.basename(
                             config.model_path)})]


def _scan(src: Source, config: ClassifierConfig) -> list[Evidence]:
    if src.decoded is None:
        return []
    session = _session(config.model_path)
    tensor = preprocess(src.decoded, config)
    inputs = session.get_inputs()
    output = session.run([session.get_outputs()[0].name], {inputs[0].name: tensor})[0]
    p = probability(output[0] if np.ndim(output) > 1 else output, config)
    details = {"probability": round(p, 4), "threshold": config.threshold, "model": os.path.basename(config.model_path)}
    if p < config.threshold:
        return [Evidence("classifier", f"classifier '{config.name}': {p:.2f} (below threshold "
                         f"{config.threshold:.2f})", 0.0, NO_SIGNAL, details)]
    # Scale to how far past the threshold it is: just over -> ~0.5, certain -> 0.9 (never 1: it is a guess).
    span = max(1e-6, 1 - config.threshold)
    weight = 0.5 + 0.4 * min(1.0, (p - config.threshold) / span)
    label = config.label if config.label in (AI_GENERATED, AI_ASSISTED) else AI_GENERATED
    return [Evidence("classifier", f"classifier '{config.name}': {p:.2f} (threshold {config.threshold:.2f})",
                     weight, label, details)]
