"""Issue 16 items 11-15 in a real browser against a real `cara-fed serve`: a three-image work on a phone shows its
details at once and opens in the full-size viewer (keyboard, Esc, alt text); the upload page names images without
a description; the signed-in header stays one row; login lands on the feed; the portfolio puts works first.
axe-core (vendored from npm, tests/flows/axe/) runs on every page visited and fails on any violation;
screenshots at 390 and 1440 px go to test-output/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.flows.test_browser import (  # noqa: F401
    TIMEOUT_MS,
    VIEWPORTS,
    Problems,
    browser,
    draw_artwork,
    playwright_api,
    settle,
)
from tests.instance import running_instance

pytestmark = [pytest.mark.browser, pytest.mark.flow]

AXE = (Path(__file__).parent / "axe" / "axe.min.js").read_text()
ALTS = ["A heron standing in reeds", "", "The heron taking off"]


def axe_violations(page: Any) -> list[str]:
    """Run axe-core (WCAG 2.x A and AA rules) on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE)  # evaluated by the driver, so the page's CSP does not apply to it
    found = page.evaluate("""async () => {
        const tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
        const r = await axe.run(document, {runOnly: {type: "tag", values: tags}});
        return r.violations.map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(" ")).join(", ")}`);
    }""")
    return [f"{page.url}: {v}" for v in found]


def shoot(page: Any, out: Path, name: str) -> list[str]:
    """Phone and desktop screenshots of the current page, with axe at both widths."""
    problems = []
    for size in ("phone", "desktop"):
        page.set_viewport_size(VIEWPORTS[size])
        settle(page)
        page.screenshot(path=str(out / f"pages-{name}-{size}.png"), full_page=True)
        problems += axe_violations(page)
    page.set_viewport_size(VIEWPORTS["phone"])
    return problems


def test_many_image_work_viewer_nav_and_portfolio_on_a_phone(browser: Any, tmp_path: Path,  # noqa: F811
                                                              output_dir: Path, playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    pictures = [draw_artwork(tmp_path / f"heron{n}.png", size) for n, size in
                enumerate([(1500, 1000), (900, 1200), (1200, 1200)])]
    problems = Problems()
    violations: list[str] = []
    with running_instance(tmp_path / "site") as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        context = problems.watch(browser.new_context(viewport=VIEWPORTS["phone"]))
        try:
            page = context.new_page()
            page.goto(site.url + "/login")
            violations += axe_violations(page)
            page.get_by_label("Username or email").fill("ada")
            page.get_by_label("Password").fill("artist password 1")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(re.compile(r"/feed$"))  # item 15: land on the feed

            # Item 15: one row of header on a phone, the rest behind "Menu".
            header = page.locator(".site-header").bounding_box()
            assert header and header["height"] < 80, header
            expect(page.get_by_role("link", name="My portfolio")).to_be_hidden()
            page.get_by_text("Menu", exact=True).click()
            expect(page.get_by_role("link", name="My portfolio")).to_be_visible()
            violations += shoot(page, output_dir, "feed")

            # Item 14: the upload page names the image without a description before publishing.
            page.goto(site.url + "/upload")
            page.locator("#images").set_input_files([str(p) for p in pictures])
            for index, alt in enumerate(ALTS):
                page.locator(f"#alt_{index}").fill(alt)
            page.get_by_label("Title").fill("Heron studies")
            page.get_by_label("Tags").fill("herons, " + "averyveryverylongtagwithoutanyspacesatall" * 2)
            page.get_by_role("button", name="Publish").click()
            expect(page.locator("#form-alert")).to_contain_text("No description yet for: heron1.png")
            violations += axe_violations(page)
            page.get_by_role("button", name="Publish anyway").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            expect(page.get_by_alt_text(ALTS[2])).to_have_count(1)  # app.js reloads once processed
            expect(page.locator(".placeholder")).to_have_count(0)
            # Settled: the work itself left "processing", so app.js polls no more and cannot reload the page
            # under the screenshots and axe below (images can be ready a moment before the work is).
            expect(page.locator("[data-status-url]")).to_have_count(0)
            expect(page.locator(".alt-reminder")).to_contain_text("1 of 3 images have no description")

            # Item 11: on a phone the title is in the first screen; the strip jumps; the viewer opens full size.
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= VIEWPORTS["phone"]["width"], f"the phone page is {width} px wide"  # item 18: long tag
            title = page.get_by_role("heading", level=1).bounding_box()
            assert title and title["y"] < VIEWPORTS["phone"]["height"], title
            expect(page.locator(".strip a")).to_have_count(3)
            violations += shoot(page, output_dir, "artwork")
            page.locator("a.zoom").first.click()
            viewer = page.locator("#lightbox")
            expect(viewer).to_be_visible()
            expect(page.locator("#lightbox-alt")).to_have_text(ALTS[0])
            expect(page.locator("#lightbox-pos")).to_have_text("1 / 3")
            violations += axe_violations(page)
            page.screenshot(path=str(output_dir / "pages-viewer-phone.png"))
            page.keyboard.press("ArrowRight")
            expect(page.locator("#lightbox-pos")).to_have_text("2 / 3")
            expect(page.locator("#lightbox-alt")).to_have_text("No description was given for this image.")
            page.keyboard.press("Escape")
            expect(viewer).to_be_hidden()
            expect(page.locator("a.zoom").first).to_be_focused()

            # Item 13 (edit page) and item 12 (portfolio: works first, shapes kept).
            work_path = page.url.removeprefix(site.url)
            page.goto(site.url + f"/artworks/{work_path.rsplit('/', 1)[1]}/edit")
            expect(page.get_by_label("Position").first).to_be_visible()
            violations += shoot(page, output_dir, "edit")
            page.goto(site.url + "/@ada")
            card = page.locator(".card").first.bounding_box()
            assert card and card["y"] < VIEWPORTS["phone"]["height"], card
            violations += shoot(page, output_dir, "portfolio")
        finally:
            context.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not violations, "axe-core violations:\n" + "\n".join(violations)
