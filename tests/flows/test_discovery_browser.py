"""A real browser through discovery: explore with a filter, search, follow a tag, and the profile's block /
mute / report actions. Screenshots of explore, search, a tag page, a profile and the report form at phone and
desktop widths (and dark), with CSP and contrast checked as in test_browser.py."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import images
from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api, screenshots  # noqa: F401
from tests.flows.test_review_browser import log_in
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = [pytest.mark.browser, pytest.mark.flow]
WORKS = [("Harbour at dawn", "Illustration", "ink, sea"), ("Forest spirits", "Concept Art", "forest"),
         ("Ink lighthouse", "Illustration", "ink")]


async def seed(base: str) -> None:
    ada = Browserless(base)
    try:
        await ada.login("ada", "artist password 1")
        for n, (title, field, tags) in enumerate(WORKS):
            await ada.upload(title, [(f"{n}.jpg", images.jpeg(1200, 800), f"{title}, a study")], field=field,
                             tags=tags)

        async def processed():  # type: ignore[no-untyped-def]
            _, html = await ada.get("/@ada")
            return "Processing" not in html and html.count("/media/") >= len(WORKS)
        await eventually(processed, what="the seeded works being processed")
    finally:
        await ada.close()


def test_explore_search_and_tags_in_a_browser(browser: Any, tmp_path: Path, output_dir: Path,  # noqa: F811
                                              playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    problems = Problems()
    with running_instance(tmp_path / "site") as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        site.cli("createuser", "viv", "--email", "viv@example.org", "--password", "viewer password 1")
        with ThreadPoolExecutor(1) as pool:  # playwright's sync API owns this thread's event loop
            pool.submit(asyncio.run, seed(site.url)).result()
        context = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        try:
            page = context.new_page()
            log_in(page, site.url, "viv", "viewer password 1")
            page.get_by_role("link", name="Explore", exact=True).click()
            page.wait_for_url(re.compile(r"/explore$"))
            expect(page.locator(".card")).to_have_count(len(WORKS))
            page.get_by_label("Field").select_option("Concept Art")
            page.get_by_role("button", name="Show").click()
            page.wait_for_url(re.compile(r"field=Concept"))
            expect(page.locator(".card")).to_have_count(1)
            expect(page.locator(".card")).to_contain_text("Forest spirits")

            page.get_by_role("link", name="Search", exact=True).first.click()
            page.get_by_label("Search artists, tags and works").fill("harbour")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/search\?q=harbour"))
            expect(page.locator(".card")).to_contain_text("Harbour at dawn")

            page.goto(site.url + "/tags/ink")
            page.get_by_role("button", name="Follow tag").click()
            expect(page.get_by_role("button", name="Unfollow tag")).to_be_visible()
            page.goto(site.url + "/feed")
            expect(page.locator(".card").filter(has_text="Ink lighthouse")).to_be_visible()

            page.goto(site.url + "/@ada")
            expect(page.get_by_role("button", name="Mute")).to_be_visible()
            expect(page.get_by_role("button", name="Block")).to_be_visible()
            page.get_by_role("link", name="Report").click()
            expect(page.get_by_label("What is wrong?")).to_be_visible()

            low_contrast = screenshots(page, output_dir, site.url, {
                "explore": "/explore", "search": "/search?q=ink", "tag": "/tags/ink", "profile-actions": "/@ada",
                "report": page.url.removeprefix(site.url)})
        finally:
            context.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low_contrast, "text below WCAG AA contrast:\n" + "\n".join(low_contrast)
