"""A real browser through a cloaked upload: the artist ticks "Cloak", watches the cloaking progress (percent and
time left, updated in place by app.js), and the published page serves the cloaked pixels with XMP and NoAI
intact. The engine is `external` with a small, slow-enough script so the progress is visible; the built-in
engine's own behaviour is covered by tests/protection/cloak."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from protection import read_xmp
from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api  # noqa: F401
from tests.flows.test_review_browser import log_in
from tests.instance import running_instance
from tests.protection.cloak.fixtures import painting, png

pytestmark = [pytest.mark.browser, pytest.mark.flow]

ALT = "Waves under a low sun, painted in broad strokes"
# Reports progress in steps (a pause between them, so the browser sees the bar move), then writes a smooth,
# clearly measurable pattern over the image.
TOOL = r'''
import sys, time
import numpy as np
from PIL import Image
for p in (10, 30, 50, 70, 90):
    print(f"progress {p}%", flush=True)
    time.sleep(1.2)
a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
a = np.clip(a + (8 * np.sin(xx / 9.0) * np.cos(yy / 7.0))[..., None], 0, 255)
Image.fromarray(a.astype("uint8")).save(sys.argv[2])
'''


def test_cloaked_upload_shows_progress_and_serves_cloaked_pixels(browser: Any, tmp_path: Path,  # noqa: F811
                                                                  playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    script = tmp_path / "tool.py"
    script.write_text(TOOL)
    clean = painting(640, 480)
    picture = tmp_path / "waves.png"
    picture.write_bytes(png(clean))
    settings = {"CARA_FED__CLOAK__ENGINE": "external", "CARA_FED__CLOAK__EXTERNAL_VERSION": "wave-1",
                "CARA_FED__CLOAK__MEASURE": "false",  # the panel's CLIP figures: tests/protection/cloak
                "CARA_FED__CLOAK__EXTERNAL_COMMAND": f"{sys.executable},{script},{{input}},{{output}}"}
    problems = Problems()
    with running_instance(tmp_path / "site", settings=settings) as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        artist = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        try:
            page = artist.new_page()
            log_in(page, site.url, "ada", "artist password 1")
            page.goto(site.url + "/upload")
            cloak = page.get_by_label(re.compile("Cloak the published images"))
            expect(cloak).not_to_be_checked()  # off until the artist opts in
            cloak.check()
            page.locator("#images").set_input_files(str(picture))
            page.locator("#alt_0").fill(ALT)
            page.get_by_label("Title").fill("Waves")
            page.get_by_role("button", name="Publish").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            artwork_path = page.url.removeprefix(site.url)

            # The progress block appears (app.js reloads when processing turns into cloaking) and its bar and
            # text are updated in place from /artworks/<id>/status while the tool reports progress.
            bar = page.locator("progress.cloak-progress")
            expect(bar).to_be_visible()
            expect(page.get_by_role("button", name="Cancel cloaking")).to_be_visible()
            page.wait_for_function("() => { const b = document.querySelector('progress.cloak-progress');"
                                   " return b !== null && b.value >= 30; }", timeout=TIMEOUT_MS)
            expect(page.locator(".cloak-text")).to_contain_text(re.compile(r"\d+% · "))
            assert page.url.removeprefix(site.url) == artwork_path

            # Done: the page reloads into the published work, marked cloaked, no progress block left.
            expect(page.get_by_alt_text(ALT).first).to_be_visible()
            page.wait_for_function("alt => Array.from(document.images).some(img => img.alt === alt && img.complete "
                                   "&& img.naturalWidth > 0)", arg=ALT, timeout=TIMEOUT_MS)
            expect(page.locator(".cloak-status")).to_have_count(0)
            expect(page.locator("dd").filter(has_text="wave-1")).to_be_visible()
            expect(page.locator('meta[name="robots"]')).to_have_attribute("content", "noai, noimageai")

            # What the browser downloads is the cloaked image, NoAI-marked.
            sources = page.eval_on_selector_all(f'img[alt="{ALT}"]', "imgs => imgs.map(i => i.currentSrc || i.src)")
            served = []
            for src in set(sources) | {u for u in re.findall(r'/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg', page.content())}:
                reply = artist.request.get(src if src.startswith("http") else site.url + src)
                assert reply.status == 200
                assert reply.headers.get("x-robots-tag") == "noai, noimageai"
                served.append(reply.body())
            largest = max(served, key=lambda d: Image.open(io.BytesIO(d)).size)
            pixels = np.asarray(Image.open(io.BytesIO(largest)).convert("RGB"))
            assert pixels.shape == clean.shape
            assert np.abs(pixels.astype(int) - clean.astype(int)).mean() > 2  # cloaked, not the upload
            assert "DMI-PROHIBITED" in read_xmp(largest)
        finally:
            artist.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
