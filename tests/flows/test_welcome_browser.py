"""Issue 16 items 18 and 12 in a real browser against a real `cara-fed serve`: a logged-out visitor's home hero
(pitch, Join / Explore, featured artists), the job board's introduction, one clear search empty state (and a
prompt for an empty query), underlined mention and hashtag links in a comment, the protection page in plain words
first, and the artist's thumbnail focus on the edit page (radio grid, keyboard, tile preview, tiles after saving).
axe-core runs at 390 and 1440 px on each page and fails on any violation; screenshots go to test-output/."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import images
from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api  # noqa: F401
from tests.flows.test_pages_browser import axe_violations, shoot
from tests.flows.test_review_browser import log_in
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = [pytest.mark.browser, pytest.mark.flow]
PASSWORD = "artist password 1"


async def seed(base: str) -> dict[str, str]:
    """ada publishes a wide harbour and a tall lighthouse, bea a study; bea comments on the harbour with a mention
    and a hashtag. Returns the works' paths."""
    works: dict[str, str] = {}
    for name, uploads in (("ada", [("Wide harbour", (2000, 1000)), ("Tall lighthouse", (900, 1400))]),
                          ("bea", [("Bea's study", (1200, 1200))])):
        who = Browserless(base)
        try:
            await who.login(name, PASSWORD)
            for title, size in uploads:
                works[title] = await who.upload(title, [(f"{name}.jpg", images.jpeg(*size), f"{title}, in ink")])

            async def processed(who: Browserless = who, name: str = name, wanted: int = len(uploads)) -> bool:
                _, html = await who.get(f"/@{name}")
                return "Processing" not in html and html.count("/media/") >= wanted
            await eventually(processed, what=f"{name}'s works being processed")
        finally:
            await who.close()
    bea = Browserless(base)
    try:
        await bea.login("bea", PASSWORD)
        harbour = works["Wide harbour"]
        response = await bea.post(f"/artworks/{harbour.rsplit('/', 1)[1]}/comments",
                                  {"content": "@ada the #harbour light is lovely"}, token_from=harbour)
        assert response.status == 303, response.status
    finally:
        await bea.close()
    return works


def test_welcome_pages_and_thumbnail_focus(browser: Any, tmp_path: Path, output_dir: Path,  # noqa: F811
                                           playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    problems = Problems()
    violations: list[str] = []
    with running_instance(tmp_path / "site") as site:
        for name in ("ada", "bea"):
            site.cli("createuser", name, "--email", f"{name}@example.org", "--password", PASSWORD)
        with ThreadPoolExecutor(1) as pool:  # playwright's sync API owns this thread's event loop
            works = pool.submit(asyncio.run, seed(site.url)).result()
        harbour_id = works["Wide harbour"].rsplit("/", 1)[1]

        visitor = problems.watch(browser.new_context(viewport=VIEWPORTS["phone"]))
        try:
            page = visitor.new_page()
            # Home: a pitch, Join and Explore, and the artists who posted most recently (one tile each).
            page.goto(site.url + "/")
            hero = page.locator(".hero")
            expect(hero.get_by_role("link", name=re.compile(r"^Join "))).to_have_attribute("href", "/signup")
            expect(hero.get_by_role("link", name="Explore the art")).to_have_attribute("href", "/explore")
            expect(page.locator(".featured-list li")).to_have_count(2)
            expect(page.locator(".featured-list")).to_contain_text("ada")
            join = hero.get_by_role("link", name=re.compile(r"^Join ")).bounding_box()
            assert join and join["y"] < VIEWPORTS["phone"]["height"], join  # the call to action in the first screen
            violations += shoot(page, output_dir, "home")

            # Jobs: what the board is and how a studio posts.
            page.goto(site.url + "/jobs")
            expect(page.locator(".board-intro")).to_contain_text("The job board lists paid work for artists")
            expect(page.get_by_role("link", name="Join as a studio")).to_have_attribute("href", "/signup?kind=studio")
            expect(page.get_by_role("link", name="log in to post a job")).to_have_attribute("href",
                                                                                   "/login?next=/jobs/new")
            violations += shoot(page, output_dir, "jobs")
            page.get_by_role("link", name="Join as a studio").click()
            expect(page.get_by_label("a studio that hires artists")).to_be_checked()

            # Search: a prompt for an empty query, one empty state when nothing matches.
            page.goto(site.url + "/search?q=+")
            expect(page.locator(".search-prompt")).to_contain_text("Type a name, a tag or words from a title")
            expect(page.locator(".empty")).to_have_count(0)
            violations += shoot(page, output_dir, "search-prompt")
            page.get_by_label("Search artists, tags and works").fill("zzqx")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"q=zzqx"))
            expect(page.locator(".empty")).to_have_count(1)
            expect(page.locator(".empty")).to_contain_text("Nothing matches “zzqx”")
            violations += shoot(page, output_dir, "search-empty")

            # A mention and a hashtag inside a comment are underlined (not told apart by colour alone).
            page.goto(site.url + works["Wide harbour"])
            comment = page.locator(".comment .prose")
            expect(comment.get_by_role("link", name="@ada")).to_be_visible()
            for link in ("@ada", "#harbour"):
                line = comment.get_by_role("link", name=link).evaluate(
                    "a => getComputedStyle(a).textDecorationLine")
                assert "underline" in line, (link, line)
            violations += shoot(page, output_dir, "comment")
        finally:
            visitor.close()

        artist = problems.watch(browser.new_context(viewport=VIEWPORTS["phone"]))
        try:
            page = artist.new_page()
            log_in(page, site.url, "ada", PASSWORD)
            # Protection: plain words first, the standards' names behind "Technical details".
            page.goto(site.url + f"/artworks/{harbour_id}/protection")
            expect(page.locator(".signals").first).to_contain_text("asks search engines and AI crawlers")
            expect(page.get_by_text("FEP-5e53")).to_be_hidden()
            page.get_by_text("Technical details").first.click()
            expect(page.get_by_text("FEP-5e53")).to_be_visible()
            violations += shoot(page, output_dir, "protection")

            # Thumbnail focus: a radio grid over the image; the tile preview follows, by mouse and keyboard.
            page.goto(site.url + f"/artworks/{harbour_id}/edit")
            picker = page.get_by_role("group", name="Thumbnail focus")
            tile = picker.locator(".focus-tile")
            expect(picker.get_by_role("radio", name="Centre")).to_be_checked()
            expect(tile).to_have_class(re.compile(r"\bfx-5 fy-5\b"))
            picker.get_by_role("radio", name="Top left").click()
            expect(tile).to_have_class(re.compile(r"\bfx-0\b.*\bfy-0\b"))
            picker.get_by_role("radio", name="Top left").press("ArrowRight")  # the browser's radio-group keys
            expect(picker.get_by_role("radio", name="Top", exact=True)).to_be_checked()
            expect(tile).to_have_class(re.compile(r"\bfx-5\b.*\bfy-0\b"))
            picker.get_by_role("radio", name="Right", exact=True).check()
            expect(tile).to_have_class(re.compile(r"\bfx-10\b.*\bfy-5\b"))
            violations += shoot(page, output_dir, "focus")
            page.get_by_role("button", name="Save changes").click()
            page.wait_for_url(re.compile(rf"/@ada/{harbour_id}$"))

            # The portfolio tile crops to the right edge; pinned works are not shown a second time.
            page.goto(site.url + works["Wide harbour"])
            page.get_by_role("button", name=re.compile("^Pin")).click()
            page.goto(site.url + "/@ada")
            expect(page.locator(".card", has_text="Wide harbour")).to_have_count(1)
            expect(page.locator(".card", has_text="Wide harbour").locator("img")).to_have_class(
                re.compile(r"\bfx-10 fy-5\b"))
            violations += axe_violations(page)
        finally:
            artist.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not violations, "axe-core violations:\n" + "\n".join(violations)
