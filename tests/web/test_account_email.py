"""Account email through a real SMTP server (aiosmtpd): verification on sign-up, password reset, email change,
retries when the SMTP server is down. Links are read from the received mail and followed over real HTTP."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cara_fed.context import CONTEXT_KEY
from cara_fed.db import utcnow
from cara_fed.models import Account, AccountToken, OutgoingMail
from cara_fed.services import mail
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.mailbox import SmtpServer, free_port
from tests.web.test_artworks import upload

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def use_smtp(config, port: int) -> None:  # type: ignore[no-untyped-def]
    config.mail.host = "127.0.0.1"
    config.mail.port = port
    config.mail.security = "none"
    config.mail.from_address = "Cara <noreply@test.example>"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def mail_client(config, smtp, aiohttp_client):  # type: ignore[no-untyped-def]
    from cara_fed_run.app import create_app

    use_smtp(config, smtp.port)
    return await aiohttp_client(create_app(config, jobs="inline", migrate=True))


async def follow_link(client, path: str):  # type: ignore[no-untyped-def]
    """Open a mailed link (a page with a button) and press the button."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    token = CSRF_RE.search(await page.text())
    assert token, "the link's page has no form"
    return await client.post(path, data={"csrf_token": token.group(1)})


async def log_in(client, login: str, password: str):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/login")
    return await client.post("/login", data={"csrf_token": token, "login": login, "password": password},
                             allow_redirects=False)


async def log_out(client) -> None:  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()


async def test_sign_up_sends_a_verification_link_and_publishing_waits_for_it(mail_client, smtp):
    assert (await sign_up(mail_client, "ada")).status == 303
    [received] = await smtp.mailbox.wait_for("ada@example.org")
    assert "Confirm your email" in received.subject and received.message["From"] == "Cara <noreply@test.example>"
    link = received.link_path()
    assert link.startswith("/verify-email/")

    home = await (await mail_client.get("/settings")).text()
    assert "Please confirm your email address" in home and "not confirmed yet" in home
    refused = await upload(mail_client, [("a.jpg", images.jpeg(), "A ferry")])
    assert refused.status == 403 and "Confirm your email address first" in await refused.text()

    done = await follow_link(mail_client, link)
    assert done.status == 200 and "your email address is confirmed" in await done.text()
    settings = await (await mail_client.get("/settings")).text()
    assert "Please confirm your email address" not in settings and "(confirmed)" in settings
    assert (await upload(mail_client, [("a.jpg", images.jpeg(), "A ferry")])).status == 303

    again = await mail_client.get(link)  # single use
    assert again.status == 400 and "expired or has already been used" in await again.text()
    replay = await mail_client.post(link, data={"csrf_token": CSRF_RE.search(await again.text()) or ""})
    assert replay.status in (400, 403)


async def test_password_reset_by_link_is_single_use_and_never_reveals_accounts(mail_client, smtp):
    await sign_up(mail_client, "ada", password="old password 1")
    await smtp.mailbox.wait_for("ada@example.org")  # the verification mail
    await log_out(mail_client)
    login_page = await (await mail_client.get("/login")).text()
    assert 'href="/forgot-password"' in login_page

    answers = []
    for address in ("ada@example.org", "nobody@example.org"):
        token = await csrf_from(mail_client, "/forgot-password")
        response = await mail_client.post("/forgot-password", data={"csrf_token": token, "email": address})
        assert response.status == 200
        answers.append(re.sub(r'value="[^"]+"', "", await response.text()))
    assert answers[0] == answers[1]  # the same page whether or not the address has an account
    assert smtp.mailbox.to("nobody@example.org") == []
    [_, reset_mail] = await smtp.mailbox.wait_for("ada@example.org", 2)
    link = reset_mail.link_path()
    assert link.startswith("/reset-password/") and "Reset your password" in reset_mail.subject

    page = await mail_client.get(link)
    token = CSRF_RE.search(await page.text()).group(1)  # type: ignore[union-attr]
    short = await mail_client.post(link, data={"csrf_token": token, "password": "short"})
    assert short.status == 400 and "at least 8" in await short.text()  # a refused password spends nothing
    changed = await mail_client.post(link, data={"csrf_token": token, "password": "new password 2"})
    assert changed.status == 200 and "new password is set" in await changed.text()

    assert (await log_in(mail_client, "ada", "old password 1")).status == 401
    assert (await log_in(mail_client, "ada", "new password 2")).status == 303
    await log_out(mail_client)
    reused = await mail_client.get(link)
    assert reused.status == 400
    token = CSRF_RE.search(await (await mail_client.get("/login")).text()).group(1)  # type: ignore[union-attr]
    reused_post = await mail_client.post(link, data={"csrf_token": token, "password": "third password 3"})
    assert reused_post.status == 400 and "already been used" in await reused_post.text()
    assert (await log_in(mail_client, "ada", "third password 3")).status == 401


async def test_expired_reset_links_are_refused(mail_client, smtp):
    await sign_up(mail_client, "ada")
    await log_out(mail_client)
    token = await csrf_from(mail_client, "/forgot-password")
    await mail_client.post("/forgot-password", data={"csrf_token": token, "email": "ada@example.org"})
    link = (await smtp.mailbox.wait_for("ada@example.org", 2))[1].link_path()
    ctx = mail_client.app[CONTEXT_KEY]
    async with ctx.transaction() as tx:
        await tx.session.execute(update(AccountToken).where(AccountToken.purpose == "reset")
                                 .values(expires_at=utcnow() - timedelta(seconds=1)))
    page = await mail_client.get(link)
    assert page.status == 400 and "expired" in await page.text()
    posted = await mail_client.post(link, data={"csrf_token": token, "password": "new password 2"})
    assert posted.status == 400
    assert (await log_in(mail_client, "ada", "new password 2")).status == 401


async def test_reset_requests_are_rate_limited(mail_client, smtp):
    statuses = []
    for _ in range(4):
        token = await csrf_from(mail_client, "/forgot-password")
        response = await mail_client.post("/forgot-password", data={"csrf_token": token, "email": "x@example.org"})
        statuses.append(response.status)
    assert statuses == [200, 200, 200, 429]  # 3 per address asked about
    assert "Too many password-reset requests" in await response.text()
    assert response.headers["Retry-After"].isdigit()


async def test_email_change_is_confirmed_by_the_new_address_and_told_to_the_old(mail_client, smtp):
    await sign_up(mail_client, "ada", password="pass word 1")
    [verify] = await smtp.mailbox.wait_for("ada@example.org")
    await follow_link(mail_client, verify.link_path())
    token = await csrf_from(mail_client, "/settings")
    wrong = await mail_client.post("/settings/sign-in", data={"csrf_token": token, "new_email": "ada@new.example",
                                                              "current_password": "not it"})
    assert wrong.status == 400 and smtp.mailbox.to("ada@new.example") == []
    asked = await mail_client.post("/settings/sign-in", data={"csrf_token": token, "new_email": "ada@new.example",
                                                              "current_password": "pass word 1"})
    assert asked.status == 200 and "We sent a confirmation link to the new address" in await asked.text()
    [confirm] = await smtp.mailbox.wait_for("ada@new.example")
    [_, notice] = await smtp.mailbox.wait_for("ada@example.org", 2)
    assert "ada@new.example" in notice.body and "being changed" in notice.subject
    ctx = mail_client.app[CONTEXT_KEY]
    async with ctx.sessions() as session:
        assert await session.scalar(select(Account.email).where(Account.username == "ada")) == "ada@example.org"
    done = await follow_link(mail_client, confirm.link_path())
    assert done.status == 200 and "ada@new.example" in await done.text()
    async with ctx.sessions() as session:
        account = await session.scalar(select(Account).where(Account.username == "ada"))
    assert account.email == "ada@new.example" and account.email_verified_at is not None


async def test_an_smtp_outage_is_retried_until_the_mail_is_sent(ctx):
    port = free_port()
    use_smtp(ctx.config, port)
    async with ctx.transaction() as tx:
        mail.queue(ctx, tx, "ada@example.org", "Hello", "A link: http://test.example/verify-email/abc")
    async with ctx.sessions() as session:
        row = await session.scalar(select(OutgoingMail))
    assert row.state == "queued" and row.attempts == 1 and "Error" in row.last_error  # nothing listened
    assert row.next_attempt_at > utcnow()
    assert await mail.sweep(ctx) == 0  # not due yet
    server = SmtpServer(port).start()
    try:
        async with ctx.transaction() as tx:
            await tx.session.execute(update(OutgoingMail).values(next_attempt_at=utcnow()))
        assert await mail.sweep(ctx) == 1
        [received] = await server.mailbox.wait_for("ada@example.org")
    finally:
        server.stop()
    assert received.link_path() == "/verify-email/abc"
    async with ctx.sessions() as session:
        row = await session.scalar(select(OutgoingMail))
    assert row.state == "sent" and row.attempts == 2 and row.body == ""  # the link is not kept


async def test_without_a_mail_host_email_features_are_off_and_the_admin_is_told(client):
    from cara_fed.services import accounts

    app_ctx = client.app[CONTEXT_KEY]
    async with app_ctx.transaction() as tx:
        await accounts.create_account(app_ctx, tx, "mira", "mira@example.org", "admin pass 1", is_admin=True,
                                      bypass_registration=True)
    assert (await client.get("/forgot-password")).status == 404
    assert 'href="/forgot-password"' not in await (await client.get("/login")).text()
    await log_in(client, "mira", "admin pass 1")
    admin = await (await client.get("/admin")).text()
    assert "Email is not configured" in admin
    await sign_up(client, "ada")
    # Publishing does not wait for a confirmation that cannot be sent.
    assert (await upload(client, [("a.jpg", images.jpeg(), "A ferry")])).status == 303


class HeldMailbox(SmtpServer):
    """An SMTP server that accepts a mail only when released: a slow server, on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        keep = self.mailbox.handle_DATA

        async def held(server, session, envelope):  # type: ignore[no-untyped-def]
            self.entered.set()
            await asyncio.to_thread(self.release.wait, 60)
            return await keep(server, session, envelope)

        self.mailbox.handle_DATA = held  # type: ignore[method-assign]


async def test_a_slow_smtp_server_never_holds_up_a_request(config, aiohttp_client):
    """With the real queue and the embedded worker, the sign-up answers and pages keep answering while the SMTP
    server sits on the verification mail; the mail arrives once the server lets it through."""
    from cara_fed_run.app import create_app

    smtp = HeldMailbox().start()
    try:
        use_smtp(config, smtp.port)
        client = await aiohttp_client(create_app(config, jobs="queue", migrate=True))
        assert (await sign_up(client, "ada")).status == 303
        assert await asyncio.to_thread(smtp.entered.wait, 30), "the worker never reached the SMTP server"
        page = await client.get("/settings")  # answered while the worker's SMTP conversation is stuck
        assert page.status == 200 and smtp.mailbox.to("ada@example.org") == []
        smtp.release.set()
        [received] = await smtp.mailbox.wait_for("ada@example.org", within=30)
        assert received.link_path().startswith("/verify-email/")
    finally:
        smtp.release.set()
        smtp.stop()
