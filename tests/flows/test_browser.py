"""A real browser against a real `cara-fed serve`: join, upload, watch processing finish, see the portfolio.

Debian's chromium is driven by PyPI playwright (no downloaded browser). Every page is screenshotted at a
phone and a desktop width (and at phone width in dark mode) into test-output/. Any Content Security Policy
violation, script error or unexpected failed load in the browser fails the test, and so does text whose
contrast with its background is below WCAG AA, in light or dark mode.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.instance import Instance, running_instance
from tests.services import STRICT

pytestmark = [pytest.mark.browser, pytest.mark.flow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
TIMEOUT_MS = 30_000
NOAI = "noai, noimageai"
SHOTS = [("phone", "light"), ("desktop", "light"), ("phone", "dark")]
ALT = "Three overlapping circles, orange, teal and plum, over a dusk-blue gradient"
TITLE = "Circles at dusk"
NOT_FOUND = "/no-such-page"


def _unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(f"{reason} (CARA_FED_REQUIRE_SERVICES is set, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    if not CHROMIUM.exists():
        _unavailable(f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("the playwright package is not installed")
    return sync_api


@pytest.fixture
def browser(playwright_api: Any) -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Instance]:
    with running_instance(tmp_path / "site") as instance:
        yield instance


def draw_artwork(path: Path, size: tuple[int, int] = (1800, 1200)) -> Path:
    """A PNG 'painting' with a gradient, shapes and noise (so it is not trivially compressible)."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=(int(40 + 60 * t), int(60 + 30 * t), int(140 - 60 * t)))
    for (cx, cy, r), colour in zip([(600, 600, 330), (950, 520, 300), (1250, 700, 280)],
                                   [(240, 140, 60), (40, 170, 170), (150, 60, 120)], strict=True):
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=(250, 240, 220), width=8)
    rng = random.Random(7)
    for _ in range(400):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randint(1, 6)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 245, 220))
    image.save(path, "PNG")
    return path


class Problems:
    """Console errors worth failing on: CSP violations and uncaught script errors."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def watch(self, context: Any) -> Any:
        context.on("console", self._console)
        context.on("weberror", lambda error: self.seen.append(f"script error: {error.error}"))
        return context

    def _console(self, message: Any) -> None:
        text, where = message.text, message.location.get("url", "")
        if "Failed to load resource" in text and where.endswith(NOT_FOUND):
            return  # the 404 page we open on purpose
        if "Content Security Policy" in text or message.type == "error":
            self.seen.append(f"{message.type} at {where or '?'}: {text}")


# Remember (across app.js's reload) that a page showed the visible "Processing…" placeholder.
SAW_PROCESSING_JS = """
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector(".placeholder.processing");
  if (box && box.getBoundingClientRect().height > 0) sessionStorage.setItem("saw-processing", box.innerText.trim());
});
"""

# Text whose contrast with its (solid) background is below WCAG AA: 4.5:1, or 3:1 for large text.
# Text over gradients or images is skipped: it cannot be judged from computed styles.
LOW_CONTRAST_JS = r"""
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1 });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") return null;  // gradient or image: cannot judge
      const c = parse(style.backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) result = over(layers[i], result);
    return result;
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    if (!el || seen.has(el) || !text.textContent.trim()) continue;
    seen.add(el);
    if (el.closest("option, script, style, [hidden], [aria-hidden=true]")) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0 || rect.right < 0 || rect.bottom < 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) === 0) continue;
    const bg = background(el);
    if (!bg) continue;
    const fg0 = parse(style.color);
    if (!fg0) continue;
    const fg = over(fg0, bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < needed) {
      const what = `<${el.tagName.toLowerCase()} class="${el.className}"> ${text.textContent.trim().slice(0, 40)}`;
      failures.push(`${ratio.toFixed(2)} < ${needed}: ${what}`);
    }
  }
  return failures;
}
"""


def settle(page: Any) -> None:
    """Wait (with a timeout, no fixed sleep) until every image on the page has finished loading."""
    page.wait_for_load_state("load")
    # Always pass a function, never a bare expression: Playwright re-polls an expression with eval(), which
    # our CSP (script-src 'self', no 'unsafe-eval') rightly refuses.
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)", timeout=TIMEOUT_MS)


def screenshots(page: Any, out: Path, base: str, pages: dict[str, str]) -> list[str]:
    """Full-page screenshots (phone and desktop, light; phone, dark); returns any low-contrast text found."""
    low = []
    for size, scheme in SHOTS:
        page.set_viewport_size(VIEWPORTS[size])
        page.emulate_media(color_scheme=scheme)
        for name, path in pages.items():
            page.goto(base + path)
            settle(page)
            suffix = size if scheme == "light" else f"{size}-{scheme}"
            page.screenshot(path=str(out / f"{name}-{suffix}.png"), full_page=True)
            low += [f"{path} ({size}, {scheme}) {problem}" for problem in page.evaluate(LOW_CONTRAST_JS)]
    page.emulate_media(color_scheme="light")
    return low


def test_join_upload_and_see_the_portfolio(browser: Any, site: Instance, tmp_path: Path, output_dir: Path,
                                           playwright_api: Any) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    picture = draw_artwork(tmp_path / "circles.png")
    problems = Problems()
    visitor = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
    artist = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
    artist.add_init_script(SAW_PROCESSING_JS)
    try:
        # Keyboard: the first Tab stop is a visible "Skip to content" link that moves focus to <main>.
        page = visitor.new_page()
        page.goto(site.url + "/")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip")
        expect(skip).to_be_focused()
        expect(skip).to_have_text("Skip to content")
        box = skip.bounding_box()
        assert box and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 20 and box["height"] > 10, box
        page.keyboard.press("Tab")
        expect(page.locator(".brand")).to_be_focused()
        outline = page.evaluate("(s => [s.outlineStyle, parseFloat(s.outlineWidth)])"
                                "(getComputedStyle(document.activeElement))")
        assert outline[0] != "none" and outline[1] >= 2, f"no visible focus ring on the brand link: {outline}"
        page.keyboard.press("Shift+Tab")
        expect(skip).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("main#main")).to_be_focused()

        # Join from the home page and land on the new portfolio.
        page = artist.new_page()
        page.goto(site.url + "/")
        page.get_by_role("link", name="Join", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Join")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Display name").fill("Ada Lovelace")
        page.get_by_label("Email").fill("ada@example.org")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(re.compile(r"/@ada$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")

        # Upload: choose the file (app.js builds one alt-text box per file), describe it, publish.
        page.get_by_role("link", name="Upload", exact=True).click()
        page.wait_for_url(re.compile(r"/upload$"))
        page.locator("#images").set_input_files(str(picture))
        expect(page.locator("label[for=alt_0]")).to_contain_text("circles.png")
        page.locator("#alt_0").fill(ALT)
        page.get_by_label("Title").fill(TITLE)
        page.get_by_label("Tags").fill("circles, dusk")
        with page.expect_response(re.compile(r"/@ada/\d+$")) as artwork_response:
            page.get_by_role("button", name="Publish").click()
        response = artwork_response.value
        assert response.status == 200
        assert response.headers.get("x-robots-tag") == NOAI
        first_render = response.text()
        artwork_url = response.url
        # The worker needs far longer to process the image than the server needs to render the page, so
        # the first render is the "Processing…" placeholder that app.js polls for.
        assert "Processing…" in first_render and 'data-status-url="/artworks/' in first_render
        assert ALT not in first_render

        # app.js polls /artworks/<id>/status and reloads; wait for the real image to arrive and decode.
        # (A predicate on the alt text, not an element handle, so that it survives the reload.)
        expect(page.get_by_alt_text(ALT).first).to_be_visible()
        page.wait_for_function("alt => Array.from(document.images).some(img => img.alt === alt && img.complete "
                               "&& img.naturalWidth > 0)", arg=ALT, timeout=TIMEOUT_MS)
        expect(page.get_by_alt_text(ALT).first).to_be_visible()
        expect(page.locator(".placeholder")).to_have_count(0)
        expect(page.locator("[data-status-url]")).to_have_count(0)  # settled: no reload pending
        assert page.evaluate("sessionStorage.getItem('saw-processing')") == "Processing…", \
            "the Processing… placeholder was never shown in the browser"
        expect(page.locator('meta[name="robots"]')).to_have_attribute("content", NOAI)
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
        expect(page.get_by_role("link", name="#circles")).to_be_visible()

        # Visitors get the same NoAI signals (the anonymous page may come from the page cache).
        anonymous = visitor.request.get(artwork_url)
        assert anonymous.status == 200 and anonymous.headers.get("x-robots-tag") == NOAI
        assert '<meta name="robots" content="noai, noimageai">' in anonymous.text()

        # The portfolio shows the new card.
        page.get_by_role("link", name="My portfolio").click()
        page.wait_for_url(re.compile(r"/@ada$"))
        card = page.locator(".card").filter(has_text=TITLE)
        expect(card).to_be_visible()
        expect(card.get_by_alt_text(ALT)).to_be_visible()

        # Screenshots at phone and desktop widths, signed in and as a visitor.
        artwork_path = artwork_url.removeprefix(site.url)
        low_contrast = screenshots(page, output_dir, site.url, {"portfolio": "/@ada", "artwork": artwork_path,
                                                                "upload": "/upload", "settings": "/settings"})
        visitor_page = visitor.new_page()
        not_found = visitor_page.goto(site.url + NOT_FOUND)
        assert not_found is not None and not_found.status == 404
        low_contrast += screenshots(visitor_page, output_dir, site.url, {"home": "/", "signup": "/signup",
                                                                         "login": "/login", "404": NOT_FOUND})
        expect(visitor_page.get_by_role("heading", level=1)).to_have_text("Not found")
    finally:
        artist.close()
        visitor.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low_contrast, "text below WCAG AA contrast:\n" + "\n".join(low_contrast)
