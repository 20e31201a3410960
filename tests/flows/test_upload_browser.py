"""Issue 16 items 13 and 18 on the upload page, in a real browser against a real `cara-fed serve`:
chosen images can be reordered (keyboard: Move up / Move down) and removed before upload, each alt text staying with
its image, and the work stores them in the order shown; a text file renamed .png says on its row that it is not an
image we can read (and the server refuses it with its reason); without JavaScript a form refused for a missing
title keeps the chosen files. axe-core runs on every state and fails on any violation; screenshots at 390 and
1440 px go to test-output/."""

from __future__ import annotations

import re
import time
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
)
from tests.flows.test_pages_browser import axe_violations, shoot
from tests.instance import Instance, running_instance

pytestmark = [pytest.mark.browser, pytest.mark.flow]

ALTS = {"heron0.png": "A heron standing in reeds", "heron1.png": "A blurry test shot",
        "heron2.png": "The heron taking off"}


def log_in(page: Any, site: Instance) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill("artist password 1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/feed$"))


def stored_alts(page: Any, site: Instance, count: int) -> list[str]:
    """The published work's images' alt texts in stored order (reloading while it is processing: no JS here
    may poll)."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while page.locator("a.zoom").count() < count and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
    return [page.locator("a.zoom").nth(i).get_attribute("data-alt") for i in range(page.locator("a.zoom").count())]


def pictures(tmp_path: Path) -> list[Path]:
    sizes = [(900, 600), (600, 900), (700, 700)]
    return [draw_artwork(tmp_path / name, size) for name, size in zip(ALTS, sizes, strict=True)]


def test_reorder_and_remove_before_upload_and_unreadable_file(browser: Any, tmp_path: Path,  # noqa: F811
                                                              output_dir: Path, playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    files = pictures(tmp_path)
    fake = tmp_path / "notes.png"
    fake.write_text("just some text, not an image\n" * 20)
    problems = Problems()
    violations: list[str] = []
    with running_instance(tmp_path / "site") as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        context = problems.watch(browser.new_context(viewport=VIEWPORTS["phone"]))
        try:
            page = context.new_page()
            log_in(page, site)
            page.goto(site.url + "/upload")
            page.locator("#images").set_input_files([str(p) for p in files])
            for name, alt in ALTS.items():
                page.get_by_label(f"Alt text for {name}").fill(alt)
            expect(page.locator(".chosen .alt-preview")).to_have_count(3)

            # Drop the test shot; move the last image up with the keyboard, the focus staying on its buttons.
            page.get_by_role("button", name="Remove heron1.png").click()
            expect(page.locator(".chosen")).to_have_count(2)
            expect(page.get_by_role("button", name="Remove heron2.png")).to_be_focused()
            page.get_by_role("button", name="Move up: heron2.png").focus()
            page.keyboard.press("Enter")
            expect(page.get_by_role("button", name="Move up: heron2.png")).to_be_disabled()
            expect(page.get_by_role("button", name="Move down: heron0.png")).to_be_disabled()
            expect(page.get_by_role("button", name="Move down: heron2.png")).to_be_focused()  # top: the other way
            expect(page.get_by_role("status")).to_have_text("heron2.png is now image 1 of 2.")
            # The alt text moved with its image: the first box (alt_0) is now heron2's.
            expect(page.locator("#alt_0")).to_have_value(ALTS["heron2.png"])
            expect(page.get_by_label("Alt text for heron2.png")).to_have_attribute("name", "alt_0")
            assert page.evaluate("() => Array.from(document.getElementById('images').files, f => f.name)") == [
                "heron2.png", "heron0.png"]  # a plain submit would send this order too
            violations += shoot(page, output_dir, "upload-chosen")

            # A text file renamed .png: a clear message on its row instead of a broken preview; not sent.
            page.locator("#images").set_input_files([str(fake)])
            row = page.locator(".chosen").nth(2)
            expect(row.locator(".chosen-bad")).to_have_text(re.compile("This file is not an image we can read"))
            expect(row.locator("img")).to_have_count(0)
            violations += shoot(page, output_dir, "upload-unreadable")
            page.get_by_label("Title").fill("Heron, reordered")
            page.get_by_role("button", name="Publish").click()
            expect(page.locator("#form-alert")).to_contain_text("Not an image we can read: notes.png")
            expect(page.get_by_role("button", name="Remove notes.png")).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.locator(".chosen")).to_have_count(2)
            violations += axe_violations(page)

            page.get_by_role("button", name="Publish").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            expect(page.locator("a.zoom")).to_have_count(2)  # app.js reloads once processed
            expect(page.locator("[data-status-url]")).to_have_count(0)  # settled: no reload pending
            assert stored_alts(page, site, 2) == [ALTS["heron2.png"], ALTS["heron0.png"]]

            # The edit page's "Add images" uses the same list; its plain (non-XHR) submit sends the shown order.
            work_id = page.url.rsplit("/", 1)[1]
            page.goto(site.url + f"/artworks/{work_id}/edit")
            page.locator("#images").set_input_files([str(files[0]), str(files[1])])
            page.get_by_label("Alt text for heron0.png").fill("Added first")
            page.get_by_label("Alt text for heron1.png").fill("Added second")
            page.get_by_role("button", name="Move up: heron1.png").click()
            violations += axe_violations(page)
            page.get_by_role("button", name="Save changes").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            expect(page.locator("a.zoom")).to_have_count(4)  # app.js reloads once processed
            expect(page.locator("[data-status-url]")).to_have_count(0)  # settled: no reload pending
            assert stored_alts(page, site, 4) == [ALTS["heron2.png"], ALTS["heron0.png"], "Added second",
                                                  "Added first"]
        finally:
            context.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not violations, "axe-core violations:\n" + "\n".join(violations)


def test_without_javascript_a_refused_form_keeps_the_chosen_files(browser: Any, tmp_path: Path,  # noqa: F811
                                                                  output_dir: Path, playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    files = pictures(tmp_path)[:2]
    fake = tmp_path / "notes.png"
    fake.write_text("just some text, not an image\n" * 20)
    violations: list[str] = []
    with running_instance(tmp_path / "site") as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        context = browser.new_context(viewport=VIEWPORTS["phone"], java_script_enabled=False)
        try:
            page = context.new_page()
            log_in(page, site)
            page.goto(site.url + "/upload")
            page.screenshot(path=str(output_dir / "pages-upload-nojs-phone.png"), full_page=True)
            # The renamed text file: refused on submit, with its name and the reason.
            page.locator("#images").set_input_files([str(fake)])
            page.get_by_label("Title").fill("Notes")
            page.get_by_role("button", name="Publish").click()
            expect(page.locator("#images-error")).to_contain_text("notes.png: This file is not an image we can use")
            expect(page.locator(".kept-images")).to_have_count(0)  # nothing to keep

            # No title: the page comes back with the error and says the two images are kept.
            page.locator("#images").set_input_files([str(p) for p in files])
            page.get_by_label("Title").fill("")
            page.locator("#alt_0").fill(ALTS["heron0.png"])
            page.get_by_role("button", name="Publish").click()
            expect(page.locator("#title-error")).to_have_text("Give the artwork a title.")
            expect(page.locator("#kept-note")).to_contain_text("2 chosen images are kept")
            expect(page.get_by_label("Alt text for heron0.png")).to_have_value(ALTS["heron0.png"])
            expect(page.get_by_label("Alt text for heron1.png")).to_have_value("")
            for size in ("phone", "desktop"):  # axe needs a script: it runs below on the same page
                page.set_viewport_size(VIEWPORTS[size])
                page.screenshot(path=str(output_dir / f"pages-upload-nojs-kept-{size}.png"), full_page=True)

            page.get_by_label("Alt text for heron1.png").fill(ALTS["heron1.png"])
            page.get_by_label("Title").fill("Herons without JavaScript")
            page.get_by_role("button", name="Publish").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            assert stored_alts(page, site, 2) == [ALTS["heron0.png"], ALTS["heron1.png"]]
        finally:
            context.close()
        # axe cannot run where scripts are off: the same refused form, with only upload.js blocked.
        context = browser.new_context(viewport=VIEWPORTS["phone"])
        try:
            page = context.new_page()
            page.route(re.compile(r"/static/upload\.js"), lambda route: route.abort())
            log_in(page, site)
            page.goto(site.url + "/upload")
            page.locator("#images").set_input_files([str(p) for p in files])
            page.get_by_role("button", name="Publish").click()
            expect(page.locator("#kept-note")).to_contain_text("2 chosen images are kept")
            violations += shoot(page, output_dir, "upload-kept")
        finally:
            context.close()
    assert not violations, "axe-core violations:\n" + "\n".join(violations)
