"""Follow and like from anywhere between two real cara-fed instances on loopback (each its own database and
worker): a visitor on A names their account (or only their server) on B; A resolves B's WebFinger to B's
FEP-3b86 intent and sends them to B's /authorize_interaction, where they confirm; the Follow and the Like
arrive at A. Once over plain HTTP (with a bare server name and an unknown handle), once in a real browser:
the dialog by keyboard, the error and copy-the-handle fallback, the page that works without JavaScript,
logging in on B and coming back, and screenshots (phone and desktop, light and dark) with CSP and contrast
checked as in test_browser.py. Both tests share the two instances."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests import images
from tests.flows.test_browser import (  # noqa: F401  (fixtures)
    LOW_CONTRAST_JS,
    TIMEOUT_MS,
    VIEWPORTS,
    Problems,
    browser,
    playwright_api,
    settle,
)
from tests.flows.users import Browserless, eventually
from tests.instance import Instance, running_instance

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, Instance]]:
    root = tmp_path_factory.mktemp("remote-interaction")
    with running_instance(root / "a") as a, running_instance(root / "b") as b:
        people = [(a, "alice"), (b, "bob"), (b, "cleo")]
        with ThreadPoolExecutor(1) as pool:  # sign-up over HTTP: quicker than three `createuser` processes
            pool.submit(asyncio.run, sign_up(people)).result()
        yield a, b


async def sign_up(people: list[tuple[Instance, str]]) -> None:
    for instance, name in people:
        person = Browserless(instance.url)
        try:
            response = await person.post("/signup", {"username": name, "email": f"{name}@example.org",
                                                     "password": f"{name} password", "kind": "artist"},
                                         token_from="/signup")
            assert response.status == 303, f"sign-up of {name} failed: {response.status}"
        finally:
            await person.close()


async def followers_of(instance: Instance, name: str) -> list[str]:
    """A's own list of who follows `name` (its followers collection, first page)."""
    visitor = Browserless(instance.url)
    try:
        async with visitor.http.get(f"{instance.url}/users/{name}/followers?page=true",
                                    headers={"Accept": "application/activity+json"}) as response:
            return (await response.json(content_type=None)).get("orderedItems", [])
    finally:
        await visitor.close()


def like_count(html: str) -> int:
    match = re.search(r'class="count like-count">(\d+)<', html)
    assert match, "no like count on the page"
    return int(match.group(1))


async def test_follow_and_like_from_another_instance_over_http(instances):
    a, b = instances
    visitor, bob, alice = Browserless(a.url), Browserless(b.url), Browserless(a.url)
    b_host = f"127.0.0.1:{b.port}"
    alice_id = f"{a.url}/users/alice"
    try:
        # A visitor gives their handle on B, or only B's address: both lead to B's Follow intent for Alice.
        for typed in (f"@bob@{b_host}", b_host):
            async with visitor.http.get(f"{a.url}/interact", params={"account": "alice", "handle": typed},
                                        allow_redirects=False) as sent:
                assert sent.status == 303, await sent.text()
                location = sent.headers["Location"]
            assert location == f"{b.url}/authorize_interaction?uri={quote(alice_id, safe='')}&intent=follow"
        async with visitor.http.get(f"{a.url}/interact", params={"account": "alice", "handle": f"@nobody@{b_host}"},
                                    headers={"Accept": "application/json"}) as unknown:
            assert unknown.status == 404
            answer = await unknown.json()
        assert f"does not know @nobody@{b_host}" in answer["error"]
        assert answer["copy"] == f"@alice@127.0.0.1:{a.port}"

        # On B, Bob logs in, sees Alice (fetched from A) and follows her; A counts him among her followers.
        await bob.login("bob", "bob password")
        page_path = location.removeprefix(b.url)
        status, page = await bob.get(page_path)
        assert status == 200 and "Follow alice?" in page and f"@alice@127.0.0.1:{a.port}" in page
        account_id = re.search(r'action="/accounts/(\d+)/follow"', page).group(1)
        followed = await bob.post(f"/accounts/{account_id}/follow", {}, token_from=page_path)
        assert followed.status == 303

        async def arrived():  # type: ignore[no-untyped-def]
            return f"{b.url}/users/bob" in await followers_of(a, "alice")
        await eventually(arrived, what="Bob's follow reaching A")

        # Alice publishes; a visitor likes it from B, which fetches the work from A first.
        await alice.login("alice", "alice password")
        work_path = await alice.upload("Quay at noon", [("q.jpg", images.jpeg(640, 480), "A stone quay at noon")])
        artwork_id = work_path.rsplit("/", 1)[1]

        async def published():  # type: ignore[no-untyped-def]
            return (await visitor.get(work_path))[0] == 200
        await eventually(published, what="A processing Alice's upload")
        async with visitor.http.get(f"{a.url}/interact", params={"artwork": artwork_id, "action": "like",
                                                                 "handle": f"@bob@{b_host}"},
                                    allow_redirects=False) as sent:
            assert sent.status == 303
            location = sent.headers["Location"]
        assert location == (f"{b.url}/authorize_interaction?uri={quote(a.url + work_path, safe='')}&intent=like")
        page_path = location.removeprefix(b.url)

        async def likeable():  # type: ignore[no-untyped-def]
            _, html = await bob.get(page_path)
            return "/like\"" in html and html
        html = await eventually(likeable, what="B showing A's artwork with a Like button")
        assert "Quay at noon" in html
        remote_id = re.search(r'action="/artworks/(\d+)/like"', html).group(1)
        liked = await bob.post(f"/artworks/{remote_id}/like", {}, token_from=page_path)
        assert liked.status == 303 and urlsplit(liked.headers["Location"]).path.startswith("/@alice@")

        async def counted():  # type: ignore[no-untyped-def]
            _, html = await alice.get(work_path)
            return like_count(html) == 1
        await eventually(counted, what="Bob's like reaching A")

        # The other way round: B's page for its copy of the work hands A's own id to a visitor from A.
        b_visitor = Browserless(b.url)
        try:
            async with b_visitor.http.get(f"{b.url}/interact", params={
                    "artwork": remote_id, "action": "boost", "handle": f"127.0.0.1:{a.port}"},
                    allow_redirects=False) as sent:
                assert sent.status == 303
                assert sent.headers["Location"] == (f"{a.url}/authorize_interaction?uri="
                                                    f"{quote(a.url + work_path, safe='')}&intent=announce")
        finally:
            await b_visitor.close()
    finally:
        for person in (visitor, bob, alice):
            await person.close()


class InteractProblems(Problems):
    """As in test_browser.py, except the 404 the dialog's lookup of an unknown handle answers on purpose."""

    def _console(self, message: Any) -> None:
        if "Failed to load resource" in message.text and "/interact?" in message.location.get("url", ""):
            return
        super()._console(message)


async def publish(base: str, title: str) -> str:
    alice = Browserless(base)
    try:
        await alice.login("alice", "alice password")
        path = await alice.upload(title, [("w.jpg", images.jpeg(800, 600), "Waves breaking on a sea wall")])

        async def published():  # type: ignore[no-untyped-def]
            async with alice.http.get(base + path) as response:
                return "like-count" in await response.text()
        await eventually(published, what="A processing the upload")
        return path
    finally:
        await alice.close()


def shoot(page: Any, out: Path, name: str, low: list[str], prepare: Any = None) -> None:
    """Phone and desktop, light and dark; `prepare(page)` sets the state to photograph after each load."""
    url = page.url
    for size in ("phone", "desktop"):
        for scheme in ("light", "dark"):
            page.set_viewport_size(VIEWPORTS[size])
            page.emulate_media(color_scheme=scheme)
            page.goto(url)
            settle(page)
            if prepare is not None:
                prepare(page)
            page.screenshot(path=str(out / f"{name}-{size}-{scheme}.png"), full_page=prepare is None)
            low += [f"{name} ({size}, {scheme}) {problem}" for problem in page.evaluate(LOW_CONTRAST_JS)]
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.emulate_media(color_scheme="light")


@pytest.mark.browser
def test_follow_and_like_from_another_instance_in_a_browser(instances, browser, playwright_api,  # noqa: F811
                                                            output_dir: Path) -> None:
    a, b = instances
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    b_host, a_handle = f"127.0.0.1:{b.port}", f"@alice@127.0.0.1:{a.port}"
    with ThreadPoolExecutor(1) as pool:  # playwright's sync API owns this thread's event loop
        work_path = pool.submit(asyncio.run, publish(a.url, "Sea wall")).result()
    problems, low = InteractProblems(), []
    visitor = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"]))
    visitor.grant_permissions(["clipboard-read", "clipboard-write"], origin=a.url)
    plain = problems.watch(browser.new_context(viewport=VIEWPORTS["desktop"], java_script_enabled=False))
    try:
        # Keyboard: the Follow button opens the dialog with the focus in the field; Escape gives it back.
        page = visitor.new_page()
        page.goto(a.url + "/@alice")
        follow = page.get_by_role("link", name="Follow", exact=True)
        follow.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Follow alice")
        expect(dialog).to_be_visible()
        field = dialog.get_by_label("Your handle or server")
        expect(field).to_be_focused()
        outline = page.evaluate("(s => [s.outlineStyle, parseFloat(s.outlineWidth)])"
                                "(getComputedStyle(document.activeElement))")
        assert outline[0] != "none" and outline[1] >= 2, f"no visible focus ring in the dialog: {outline}"
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(follow).to_be_focused()

        # An unknown handle: the reason, in the dialog, and the handle to copy instead (by keyboard too).
        page.keyboard.press("Enter")
        field.fill(f"@nobody@{b_host}")
        page.keyboard.press("Enter")
        expect(dialog.get_by_role("alert")).to_contain_text(f"does not know @nobody@{b_host}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(dialog.get_by_label("Or paste this handle into your server’s search")).to_have_value(a_handle)
        copy = dialog.get_by_role("button", name="Copy")
        copy.focus()
        page.keyboard.press("Enter")
        expect(dialog.get_by_role("status")).to_have_text(f"Copied: {a_handle}")
        assert page.evaluate("() => navigator.clipboard.readText()") == a_handle

        # Cleo's real handle on B: B's page for Alice, after logging in there and coming back.
        field.fill(f"@cleo@{b_host}")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"^{re.escape(b.url)}/login\?next="))
        page.get_by_label("Username or email").fill("cleo")
        page.get_by_label("Password").fill("cleo password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(rf"^{re.escape(b.url)}/authorize_interaction\?uri="))
        expect(page.get_by_role("heading", level=1)).to_have_text("Follow alice?")
        shoot(page, output_dir, "authorize-follow", low)
        page.get_by_role("button", name="Follow", exact=True).click()
        page.wait_for_url(re.compile(rf"^{re.escape(b.url)}/@alice@"))

        def cleo_follows() -> bool:
            reply = page.request.get(f"{a.url}/users/alice/followers?page=true",
                                     headers={"Accept": "application/activity+json"})
            return f"{b.url}/users/cleo" in reply.json().get("orderedItems", [])
        poll(cleo_follows, "Cleo's follow reaching A")

        # Like: A remembered her server, so the dialog comes filled in; B knows her already.
        page.goto(a.url + work_path)
        before = int(page.locator(".like-count").first.inner_text())
        page.get_by_role("link", name=re.compile("^Like")).click()
        dialog = page.get_by_role("dialog", name="Like “Sea wall”")
        expect(dialog.get_by_label("Your handle or server")).to_have_value(f"@cleo@{b_host}")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"^{re.escape(b.url)}/authorize_interaction\?uri="))
        expect(page.get_by_role("heading", level=1)).to_have_text("Sea wall")
        like = page.get_by_role("button", name=re.compile("^Like"))
        expect(like).to_be_visible()  # after B fetched the images (the page reloads itself until then)
        shoot(page, output_dir, "authorize-like", low)
        page.get_by_role("button", name=re.compile("^Like")).click()
        expect(page.get_by_role("button", name=re.compile("^Liked"))).to_be_visible()

        def counted() -> bool:
            html = page.request.get(a.url + work_path).text()
            return f'class="count like-count">{before + 1}<' in html
        poll(counted, "Cleo's like reaching A")

        # Without JavaScript the buttons are links to a page with the same form, and its redirect is allowed.
        plain_page = plain.new_page()
        plain_page.goto(a.url + work_path)
        plain_page.get_by_role("link", name=re.compile("^Reply")).click()
        plain_page.wait_for_url(re.compile(r"/interact\?artwork=\d+&action=reply$"))
        expect(plain_page.get_by_role("heading", level=1)).to_have_text("Reply to “Sea wall” from your server")
        expect(plain_page.get_by_role("button", name="Copy")).to_be_hidden()  # it needs the script; the field stays
        plain_page.get_by_label("Your handle or server").fill("no such thing")
        plain_page.get_by_role("button", name="Continue on my server").click()
        expect(plain_page.get_by_role("alert")).to_contain_text("Enter your handle")
        shoot(plain_page, output_dir, "interact-page-error", low)
        plain_page.get_by_label("Your handle or server").fill(b_host)
        plain_page.get_by_role("button", name="Continue on my server").click()
        plain_page.wait_for_url(re.compile(rf"^{re.escape(b.url)}/login\?next="))

        # Screenshots of the visitor's dialog over the portfolio and the artwork.
        page.goto(a.url + "/@alice")
        shoot(page, output_dir, "portfolio-follow-dialog", low,
              prepare=lambda p: p.get_by_role("link", name="Follow", exact=True).click())
        page.goto(a.url + work_path)
        shoot(page, output_dir, "artwork-like-dialog", low,
              prepare=lambda p: p.get_by_role("link", name=re.compile("^Boost")).click())
    finally:
        visitor.close()
        plain.close()
    assert not problems.seen, "browser console problems:\n" + "\n".join(problems.seen)
    assert not low, "text below WCAG AA contrast:\n" + "\n".join(low)


def poll(check: Any, what: str, within: float = 60.0) -> None:
    """The synchronous `eventually` (Playwright's sync API cannot await)."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {within}s")
