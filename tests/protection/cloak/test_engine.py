"""The built-in adversarial engine: the real CLIP tower (briefly), the budget, the mask, determinism, and the
panel's honest comparison against the transformation-only and random-noise baselines."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch", reason="the cloak extra (torch) is not installed: pip install '.[cloak]'")

from protection.cloak import CloakSettings, get_engine, panel  # noqa: E402
from protection.cloak.attack import cloak_rgb  # noqa: E402
from protection.cloak.quality import psnr, ssim, texture_mask  # noqa: E402
from tests.protection.cloak.fixtures import line_art, painting, png, tiny_encoder  # noqa: E402

QUICK = CloakSettings(seed=7, steps=2, views=1, threads=2)


def test_dequantised_clip_is_the_shipped_network():
    """Our fp32 tower against an exact replay of the int8 graph's own arithmetic, same weights: the same
    network up to int8 rounding (a wrong weight mapping would give unrelated embeddings, cos ~ 0)."""
    from protection.cloak.adversarial import encoder
    from protection.cloak.transforms import center_view, to_tensor

    clip = encoder("clip")
    x = center_view(to_tensor(painting(224, 224)))
    with torch.no_grad():
        fp32 = clip(x)
        clip.set_int8_exact(True)
        try:
            int8 = clip(x)
        finally:
            clip.set_int8_exact(False)
    assert fp32.shape == (1, 512)
    assert float(torch.cosine_similarity(fp32, int8)) > 0.93


def test_real_clip_cloak_beats_both_baselines():
    engine = get_engine("adversarial")
    assert engine.unavailable_reason() is None
    clean = painting()
    progress: list[tuple[float, float | None]] = []
    result = engine.cloak(png(clean), QUICK, lambda f, eta: progress.append((f, eta)))
    cloaked = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"))
    assert cloaked.shape == clean.shape and (cloaked != clean).any()
    assert result.report["engine"] == "adversarial" and result.report["steps"] == 2
    assert result.report["psnr"] >= QUICK.target_psnr
    fractions = [f for f, _ in progress]
    assert fractions and 0 < fractions[-1] <= 1 and fractions == sorted(fractions)

    figures = panel(png(clean), result.data, QUICK)
    assert figures["psnr"] == pytest.approx(psnr(clean, cloaked), abs=0.01) and figures["psnr"] >= 33
    assert 0.5 < figures["ssim"] < 1
    assert abs(figures["random_psnr"] - figures["psnr"]) < 0.5  # the random baseline has the same budget
    clip = figures["encoders"]["clip"]
    assert set(clip) == {"none", "jpeg75", "resize50", "noise_resample"}
    assert set(figures["encoders"]) == {"clip", "mobilenet"}
    # Even two steps move CLIP's view of the untransformed image further than noise of the same size does.
    assert clip["none"]["uncloaked"] == pytest.approx(0, abs=1e-3)
    assert clip["none"]["cloaked"] > clip["none"]["random"] + 0.005
    assert clip["none"]["gain_over_random"] == pytest.approx(clip["none"]["cloaked"] - clip["none"]["random"],
                                                             abs=1e-3)
    for row in clip.values():  # the baselines are really measured, not assumed
        assert row["gain"] == pytest.approx(row["cloaked"] - row["uncloaked"], abs=1e-3)
    assert clip["jpeg75"]["uncloaked"] > 0  # JPEG alone moves the embedding: that is the baseline


def test_deterministic_for_a_seed_and_different_across_seeds():
    net = tiny_encoder()
    clean = painting(120, 96)
    a, _ = cloak_rgb(clean, QUICK, net)
    b, _ = cloak_rgb(clean, QUICK, net)
    c, _ = cloak_rgb(clean, CloakSettings(seed=8, steps=2, views=1), net)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_flat_areas_and_line_art_stay_clean():
    clean = line_art()
    settings = CloakSettings(seed=1, steps=3, views=1, target_psnr=30)
    out, report = cloak_rgb(clean, settings, tiny_encoder())
    change = np.abs(out.astype(int) - clean.astype(int)).max(axis=2)
    mask = texture_mask(clean)
    assert mask[5:50, 120:185].max() == pytest.approx(0.1)  # flat ground: the floor
    assert mask[110:, 130:].min() == pytest.approx(1.0)  # busy patch: the full budget
    assert settings.epsilon * 255 <= report["epsilon"] <= 2 * settings.epsilon * 255 + 0.01  # widened at most 2x
    limit = settings.epsilon * 255  # floor 0.1 x at most 2 epsilon: flat areas never move more than 0.2 epsilon
    assert change[5:50, 120:185].max() <= 0.2 * limit + 1  # flat ground
    assert change[8:74, 8:92].max() <= 0.2 * limit + 2  # along the lines
    assert change[110:, 130:].max() > 0.5 * limit  # the budget went where it hides
    assert report["psnr"] >= 30 and psnr(clean, out) == pytest.approx(report["psnr"], abs=0.01)
    assert ssim(clean, clean) == pytest.approx(1.0)


def test_large_images_are_worked_on_a_bounded_copy_and_cover_more_tiles():
    clean = painting(1200, 400)
    out, report = cloak_rgb(clean, CloakSettings(seed=2, steps=2, views=1, work_edge=128), tiny_encoder())
    assert out.shape == clean.shape
    assert report["work_size"] == [384, 128]
    assert report["steps"] == 4  # twice the area one crop covers: twice the steps


def test_alpha_is_kept():
    rgba = np.dstack([painting(96, 80), np.full((80, 96), 128, np.uint8)])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    result = get_engine("adversarial").cloak(buf.getvalue(), CloakSettings(steps=1, views=1, measure=False))
    out = Image.open(io.BytesIO(result.data))
    assert out.mode == "RGBA" and np.asarray(out.getchannel("A")).min() == 128


def test_without_torch_the_engine_says_it_is_unavailable():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from protection.cloak import get_engine, CloakUnavailable, CloakSettings\n"
            "e = get_engine('adversarial'); print(e.unavailable_reason())\n"
            "try:\n    e.cloak(b'', CloakSettings())\nexcept CloakUnavailable as exc:\n    print('raised', exc.code)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert "needs torch" in out and "pip install" in out and "raised unavailable" in out


def test_none_engine_passes_through():
    data = png(painting(40, 30))
    result = get_engine("none").cloak(data, CloakSettings())
    assert result.data == data and result.report["changed"] is False
