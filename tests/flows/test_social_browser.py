"""A real browser: Bea comments on Ada's artwork (and likes it); Ada logs in, sees the unread count in the
navigation, opens her notifications, follows one to the comment and replies. Screenshots of the artwork with
its comment thread, the notifications page and the saved works at phone and desktop widths (and dark); CSP
and contrast checked as in test_browser.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests import images
from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api, screenshots  # noqa: F401
from tests.flows.test_review_browser import log_in
from tests.instance import running_instance

pytestmark = [pytest.mark.browser, pytest.mark.flow]


def test_comment_then_the_artist_sees_the_notification(browser: Any, tmp_path: Path,  # noqa: F811
                                                        output_dir: Path, playwright_api: Any,  # noqa: F811
                                                        ) -> None:
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    picture = tmp_path / "harbour.jpg"
    picture.write_bytes(images.jpeg(1600, 1000))
    problems = Problems()
    with running_instance(tmp_path / "site") as site:
        site.cli("createuser", "ada", "--email", "ada@example.org", "--password", "artist password 1")
        site.cli("createuser", "bea", "--email", "bea@example.org", "--password", "commenter password 1")
        artist = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        commenter = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
        try:
            page = artist.new_page()
            log_in(page, site.url, "ada", "artist password 1")
            page.goto(site.url + "/upload")
            page.locator("#images").set_input_files(str(picture))
            page.locator("#alt_0").fill("Boats in a harbour at dawn")
            page.get_by_label("Title").fill("Harbour at dawn")
            page.get_by_role("button", name="Publish").click()
            page.wait_for_url(re.compile(r"/@ada/\d+$"))
            artwork_path = page.url.removeprefix(site.url)
            expect(page.get_by_role("button", name=re.compile("^Like"))).to_be_visible()  # published (app.js reloads)
            expect(page.locator(".nav-notifications .badge-count")).to_have_count(0)

            bea = commenter.new_page()
            log_in(bea, site.url, "bea", "commenter password 1")
            bea.goto(site.url + artwork_path)
            bea.get_by_role("button", name=re.compile("^Like")).click()
            expect(bea.get_by_role("button", name=re.compile("^Liked"))).to_be_visible()
            bea.get_by_role("button", name=re.compile("^Save")).click()
            bea.get_by_label("Add a comment").fill("The light on the water is wonderful, @ada! #harbour")
            bea.get_by_role("button", name="Comment", exact=True).click()
            expect(bea.locator(".comment .prose")).to_contain_text("The light on the water is wonderful")
            expect(bea.locator(".comment .prose a.mention", has_text="ada")).to_be_visible()
            low = screenshots(bea, output_dir, site.url, {"saved-works": "/bookmarks"})

            # Ada: the badge counts the like and the comment; the page shows who and what, with a link.
            page.goto(site.url + "/")
            expect(page.locator(".nav-notifications .badge-count")).to_contain_text("2")
            page.locator(".nav-notifications").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
            expect(page.locator(".unread-count")).to_have_text("2")
            item = page.locator("li.kind-comment")
            expect(item).to_contain_text("commented on")
            expect(item).to_contain_text("The light on the water")
            expect(page.locator("li.kind-like")).to_contain_text("liked")
            low += screenshots(page, output_dir, site.url, {"notifications": "/notifications"})
            item.get_by_role("link", name="Harbour at dawn").click()
            page.wait_for_url(re.compile(r"#comment-\d+$"))
            page.locator(".comment-tools summary", has_text="Reply").first.click()
            page.get_by_label("Reply to bea").fill("Thank you, Bea!")
            page.get_by_role("button", name="Reply", exact=True).click()
            expect(page.locator(".comment.depth-1 .prose")).to_contain_text("Thank you, Bea!")
            low += screenshots(page, output_dir, site.url, {"artwork-comments": artwork_path})
            page.goto(site.url + "/notifications")
            page.get_by_role("button", name="Mark all as read").click()
            expect(page.locator(".unread-count")).to_have_text("0")
            expect(page.locator(".nav-notifications .badge-count")).to_have_count(0)

            bea.goto(site.url + "/notifications")
            expect(bea.locator("li.kind-reply")).to_contain_text("replied to your comment on")
        finally:
            artist.close()
            commenter.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low, "text below WCAG AA contrast:\n" + "\n".join(low)
