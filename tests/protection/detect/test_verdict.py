import json

import pytest

from protection.detect import Evidence, Verdict


def ev(weight, label, layer="iptc"):
    return Evidence(layer, f"finding {weight}", weight, label, {"k": 1})


def test_combination_is_noisy_or_and_strongest_label():
    v = Verdict.combine([ev(0.5, "ai_assisted"), ev(0.8, "ai_generated", "watermark"), ev(0.0, "no_signal")])
    assert v.score == pytest.approx(1 - 0.5 * 0.2)
    assert v.label == "ai_generated"
    assert Verdict.combine([ev(0.4, "ai_assisted")]).label == "ai_assisted"


def test_empty_and_weightless_evidence_is_no_signal():
    assert Verdict.combine([]) == Verdict(0.0, "no_signal", ())
    v = Verdict.combine([ev(0.0, "ai_generated")])  # a zero-weight finding never sets the label
    assert (v.score, v.label) == (0.0, "no_signal")


def test_weights_are_clamped_and_labels_checked():
    assert ev(7, "ai_generated").weight == 1.0
    assert ev(float("nan"), "ai_generated").weight == 0.0
    with pytest.raises(ValueError):
        ev(0.5, "human_made")


def test_json_round_trip_through_a_json_column():
    v = Verdict.combine([ev(0.9, "ai_generated"), ev(0.3, "ai_assisted", "generator")])
    stored = json.loads(json.dumps(v.to_json()))
    assert stored["version"] == 1 and stored["label"] == "ai_generated"
    assert Verdict.from_json(stored) == v
    # tolerant of older/partial rows
    assert Verdict.from_json({"score": 0.2, "label": "bogus"}) == Verdict(0.2, "no_signal", ())


def test_docstring_says_no_signal_is_not_human_made():
    assert "NEVER means the image is" in Verdict.__doc__ and "human-made" in Verdict.__doc__
