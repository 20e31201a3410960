"""A real browser through the AI-provenance review: an upload with generator metadata is held, the artist reads
the evidence and appeals, a moderator labels and publishes it, a visitor sees the label. Screenshots of the
protection panel, the review queue and the case at phone and desktop widths (and dark), CSP and contrast
checked as in test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api, screenshots  # noqa: F401
from tests.instance import running_instance
from tests.web.test_review import generated_png

pytestmark = [pytest.mark.browser, pytest.mark.flow]


def log_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def test_held_upload_appeal_and_decision_in_a_browser(browser: Any, tmp_path: Path,  # noqa: F811
                                                      output_dir: Path, playwright_api: Any,  # noqa: F811
                                                      ) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    picture = tmp_path / "lighthouse.png"
    picture.write_bytes(generated_png())
    problems = Problems()
    with running_instance(tmp_path / "site", settings={"CARA_FED__DETECTION__LOCAL_POLICY": "hold"}) as site:
        site.cli("createuser", "boss", "--email", "boss@example.org", "--password", "admin password 1", "--admin")
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        artist = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        moderator = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        visitor = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        try:
            page = artist.new_page()
            log_in(page, site.url, "ada", "artist password 1")
            page.goto(site.url + "/upload")
            page.locator("#images").set_input_files(str(picture))
            page.locator("#alt_0").fill("A lighthouse at dusk")
            page.get_by_label("Title").fill("Dusk light")
            page.get_by_role("button", name="Publish").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            artwork_path = page.url.removeprefix(site.url)
            expect(page.get_by_text("held for review")).to_be_visible()  # after processing, app.js reloads
            page.get_by_role("link", name="Protection").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Protection")
            expect(page.get_by_text("Stable Diffusion generation parameters").first).to_be_visible()
            expect(page.get_by_text("not a technical lock")).to_be_visible()
            page.get_by_label(re.compile("Tell the moderators")).fill("Painted in Krita; process shots on request.")
            page.get_by_role("button", name="Send appeal").click()
            expect(page.get_by_text("Your appeal was sent")).to_be_visible()
            panel_path = page.url.removeprefix(site.url).split("?")[0]
            low = screenshots(page, output_dir, site.url, {"protection-panel": panel_path})

            admin = moderator.new_page()
            log_in(admin, site.url, "boss", "admin password 1")
            admin.goto(site.url + "/admin")
            admin.get_by_role("link", name="AI-provenance review queue").click()
            expect(admin.get_by_text("Dusk light")).to_be_visible()
            low += screenshots(admin, output_dir, site.url, {"review-queue": "/admin/review"})
            admin.get_by_text("Dusk light").click()
            expect(admin.locator("blockquote")).to_contain_text("Painted in Krita")
            case_path = admin.url.removeprefix(site.url)
            low += screenshots(admin, output_dir, site.url, {"review-case": case_path})
            admin.goto(site.url + case_path)
            admin.get_by_label("Publish labelled AI-assisted").check()
            admin.get_by_label("Note for the log").fill("Hybrid workflow; label, do not hide.")
            admin.get_by_role("button", name="Decide").click()
            admin.wait_for_url(re.compile(r"/admin/review$"))
            expect(admin.get_by_text("Nothing to review.")).to_be_visible()

            public = visitor.new_page()
            response = public.goto(site.url + artwork_path)
            assert response is not None and response.status == 200
            expect(public.locator(".pill.label-ai")).to_have_text("AI-assisted")
            low += screenshots(public, output_dir, site.url, {"labelled-artwork": artwork_path})
        finally:
            artist.close()
            moderator.close()
            visitor.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low, "text below WCAG AA contrast:\n" + "\n".join(low)
