"""Issue 18 (email and two-factor) in a real browser against a real `cara-fed serve` whose embedded worker sends
mail to a real SMTP server (aiosmtpd): sign up, confirm the address from the mailed link, enrol in two-factor
from the QR page (codes computed with pyotp from the key shown), log in with password then code, and reset a
forgotten password from the mailed link. axe-core checks each new page; screenshots go to test-output/."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.flows.test_browser import TIMEOUT_MS, VIEWPORTS, Problems, browser, playwright_api  # noqa: F401
from tests.flows.test_pages_browser import shoot
from tests.instance import running_instance
from tests.mailbox import Received, SmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.flow]


def mails_to(server: SmtpServer, address: str, count: int, within: float = 30) -> list[Received]:
    """Poll the SMTP server's mailbox (the worker sends after the request has answered)."""
    deadline = time.monotonic() + within
    while len(server.mailbox.to(address)) < count:
        assert time.monotonic() < deadline, f"no mail to {address}: {server.mailbox.received}"
        time.sleep(0.1)
    return server.mailbox.to(address)


def password_then_code(page: Any, expect: Any, base: str, password: str, code: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/feed$"))


def test_verify_enrol_two_factor_log_in_and_reset_in_a_browser(browser: Any, tmp_path: Path,  # noqa: F811
                                                                output_dir: Path, playwright_api: Any) -> None:  # noqa: F811
    expect = playwright_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    problems = Problems()
    violations: list[str] = []
    smtp = SmtpServer().start()
    settings = {"CARA_FED__MAIL__HOST": "127.0.0.1", "CARA_FED__MAIL__PORT": str(smtp.port),
                "CARA_FED__MAIL__SECURITY": "none"}
    try:
        with running_instance(tmp_path / "site", settings=settings) as site:
            context = problems.watch(browser.new_context(viewport=VIEWPORTS["phone"]))
            try:
                page = context.new_page()
                page.goto(site.url + "/signup")
                page.get_by_label("Username").fill("ada")
                page.get_by_label("Email").fill("ada@example.org")
                page.get_by_label("Password").fill("first password 1")
                page.get_by_role("button", name="Create account").click()
                page.wait_for_url(re.compile(r"/@ada$"))
                expect(page.locator(".notice.unconfirmed")).to_contain_text("Please confirm your email address")

                [verify] = mails_to(smtp, "ada@example.org", 1)
                page.goto(site.url + verify.link_path())
                page.get_by_role("button", name="Confirm this address").click()
                expect(page.get_by_role("heading", name="Email confirmed")).to_be_visible()
                expect(page.locator(".notice.unconfirmed")).to_have_count(0)

                page.goto(site.url + "/settings")
                page.get_by_role("link", name="Set up two-factor authentication").click()
                expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
                violations += shoot(page, output_dir, "two-factor-enrol")
                totp = pyotp.TOTP(page.locator("#totp-secret").inner_text().strip())
                page.get_by_label("Code from your app").fill(totp.now())
                page.get_by_role("button", name="Turn on two-factor authentication").click()
                expect(page.locator(".recovery-codes li")).to_have_count(10)
                recovery = page.locator(".recovery-codes code").all_inner_texts()
                violations += shoot(page, output_dir, "recovery-codes")

                context.clear_cookies()
                # The enrolment spent the current step's code: the next step's is accepted (clock drift window).
                password_then_code(page, expect, site.url, "first password 1", totp.at(time.time() + totp.interval))

                context.clear_cookies()
                page.goto(site.url + "/login")
                page.get_by_role("link", name="Forgot your password?").click()
                violations += shoot(page, output_dir, "forgot-password")
                page.get_by_label("Email").fill("ada@example.org")
                page.get_by_role("button", name="Send the link").click()
                expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
                reset = mails_to(smtp, "ada@example.org", 2)[1]
                page.goto(site.url + reset.link_path())
                page.get_by_label("New password").fill("second password 2")
                page.get_by_role("button", name="Set the new password").click()
                expect(page.get_by_role("heading", name="Password changed")).to_be_visible()
                password_then_code(page, expect, site.url, "second password 2", recovery[0])
                page.goto(site.url + reset.link_path())  # the link worked once: a 400 page
                expect(page.get_by_role("heading", name="Link expired")).to_be_visible()
                expected_400 = site.url + reset.link_path()
            finally:
                context.close()
    finally:
        smtp.stop()
    seen = [p for p in problems.seen if not (expected_400 in p and "status of 400" in p)]
    assert not seen, "browser console problems:\n" + "\n".join(seen)
    assert not violations, "axe-core violations:\n" + "\n".join(violations)
