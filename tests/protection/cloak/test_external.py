"""The `external` engine with a small Python script standing in for Glaze/Mist: success with progress,
failure, timeout (the tool is killed), missing or wrong-size output, cancellation."""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from protection.cloak import CloakCancelled, CloakError, CloakSettings, CloakUnavailable, get_engine
from tests.protection.cloak.fixtures import painting, png

TOOL = r'''
import sys, time
from PIL import Image
mode, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "ok":
    im = Image.open(src).convert("RGB")
    for i in (25, 50, 100):
        print(f"progress {i}%", flush=True)
    im.putpixel((0, 0), (255 - im.getpixel((0, 0))[0], 0, 0))
    im.save(dst)
elif mode == "fail":
    print("CUDA out of memory", file=sys.stderr)
    sys.exit(3)
elif mode == "hang":
    open(sys.argv[4], "w").write("started")
    time.sleep(60)
elif mode == "nothing":
    pass
elif mode == "small":
    Image.new("RGB", (4, 4)).save(dst)
'''


@pytest.fixture()
def tool(tmp_path: Path):
    script = tmp_path / "fake_glaze.py"
    script.write_text(TOOL)
    return lambda mode, *extra: [sys.executable, str(script), mode, "{input}", "{output}", *extra]


def test_success_reports_progress_and_returns_the_tools_pixels(tool):
    engine = get_engine("external", command=tool("ok"), timeout=30, version="fake-glaze-1")
    assert engine.unavailable_reason() is None
    clean = painting(64, 48)
    seen: list[float] = []
    result = engine.cloak(png(clean), CloakSettings(), lambda f, eta: seen.append(f))
    out = np.asarray(Image.open(io.BytesIO(result.data)).convert("RGB"))
    assert out[0, 0, 0] == 255 - clean[0, 0, 0] and np.array_equal(out[1:], clean[1:])
    assert result.report["engine"] == "external" and result.report["version"] == "fake-glaze-1"
    assert result.report["changed"] is True
    assert seen[-1] == 1.0


def test_failure_is_reported_with_the_tools_last_words(tool):
    with pytest.raises(CloakError) as caught:
        get_engine("external", command=tool("fail"), timeout=30).cloak(png(painting(32, 32)), CloakSettings())
    assert caught.value.code == "tool_failed"
    assert "status 3" in caught.value.message and "CUDA out of memory" in caught.value.message


def test_timeout_kills_the_tool(tool, tmp_path):
    marker = tmp_path / "started"
    engine = get_engine("external", command=tool("hang", str(marker)), timeout=1.5)
    started = time.monotonic()
    with pytest.raises(CloakError) as caught:
        engine.cloak(png(painting(32, 32)), CloakSettings())
    assert caught.value.code == "timeout" and "1.5 s" in caught.value.message
    assert marker.exists() and time.monotonic() - started < 10


def test_cancel_stops_the_tool(tool, tmp_path):
    marker = tmp_path / "started"
    engine = get_engine("external", command=tool("hang", str(marker)), timeout=60)

    def cancel(fraction: float, eta: float | None) -> None:
        if marker.exists():
            raise CloakCancelled()

    started = time.monotonic()
    with pytest.raises(CloakCancelled):
        engine.cloak(png(painting(32, 32)), CloakSettings(), cancel)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("mode", "code"), [("nothing", "no_output"), ("small", "bad_output")])
def test_missing_or_wrong_output_is_an_error(tool, mode, code):
    with pytest.raises(CloakError) as caught:
        get_engine("external", command=tool(mode), timeout=30).cloak(png(painting(32, 32)), CloakSettings())
    assert caught.value.code == code


def test_unconfigured_or_missing_command_is_unavailable(tmp_path):
    assert "no external cloaking command" in get_engine("external").unavailable_reason()
    missing = get_engine("external", command=[str(tmp_path / "nope"), "{input}", "{output}"])
    assert "not found" in missing.unavailable_reason()
    assert "{output}" in get_engine("external", command=[sys.executable]).unavailable_reason()
    with pytest.raises(CloakUnavailable):
        missing.cloak(png(painting(8, 8)), CloakSettings())
    assert os.access(sys.executable, os.X_OK)
