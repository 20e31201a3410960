"""The daily digest email (issue 18) through a real SMTP server (aiosmtpd): opt in over HTTP with CSRF, get
notifications from other artists' real follows, run the scheduler's `mail_digest` job, read the mail (its list,
its List-Unsubscribe headers) and follow its one-click unsubscribe link as a mail client would."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.db import utcnow
from cara_fed.models import Account, MailDigest, OutgoingMail
from cara_fed.services import mail_digest
from cara_fed_run.worker import periodic_jobs
from tests.conftest import csrf_from, sign_up
from tests.web.test_account_email import follow_link, log_in, log_out, mail_client, smtp  # noqa: F401

UNSUBSCRIBE_RE = re.compile(r"https?://[^/\s]+(/unsubscribe/digest/\d+/[0-9a-f]{64})")
PASSWORD = "correct horse 1"


async def _digest_row(ctx, account_id: int) -> MailDigest | None:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.get(MailDigest, account_id)


async def _account(ctx, username: str) -> Account:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return (await session.scalars(select(Account).where(Account.username == username))).one()


async def _run_job(ctx) -> None:  # type: ignore[no-untyped-def]
    """What the scheduler runs (worker.periodic_jobs), not a copy of it."""
    [job] = [job for job in periodic_jobs(ctx.config) if job.name == "mail_digest"]
    await job.run(ctx)


async def _set(client, value: str):  # type: ignore[no-untyped-def]
    return await client.post("/settings/digest", data={"csrf_token": await csrf_from(client, "/settings/digest"),
                                                       "digest": value})


async def test_opted_in_artist_gets_one_digest_a_day_and_leaves_with_one_click(mail_client, smtp):  # noqa: F811
    ctx = mail_client.app[CONTEXT_KEY]
    ctx.config.mail.digest_hour = 0  # due at any time of the day the test runs
    assert (await sign_up(mail_client, "ada")).status == 303
    [verification] = await smtp.mailbox.wait_for("ada@example.org")
    assert (await follow_link(mail_client, verification.link_path())).status == 200
    ada = await _account(ctx, "ada")

    page = await mail_client.get("/settings/digest")
    html = await page.text()
    assert page.status == 200 and 'value="off" checked' in html and "00:00 UTC" in html  # off by default
    forged = await mail_client.post("/settings/digest", data={"digest": "on"})
    assert forged.status == 403 and await _digest_row(ctx, ada.id) is None
    assert (await _set(mail_client, "maybe")).status == 400
    turned_on = await _set(mail_client, "on")
    assert turned_on.status == 200 and 'value="on" checked' in await turned_on.text()
    assert await _digest_row(ctx, ada.id) is not None

    await _run_job(ctx)  # nothing unread yet: no mail
    assert len(smtp.mailbox.to("ada@example.org")) == 1

    # Two artists follow Ada: two notifications, unread.
    for name in ("bo", "cy"):
        await log_out(mail_client)
        assert (await sign_up(mail_client, name)).status == 303
        followed = await mail_client.post(f"/accounts/{ada.id}/follow",
                                          data={"csrf_token": await csrf_from(mail_client, "/settings")})
        assert followed.status == 200, await followed.text()

    # Today's run already happened (and found nothing); tomorrow's sends the digest, once.
    tomorrow = utcnow() + timedelta(days=1)
    ctx.config.mail.digest_hour = 23
    assert await mail_digest.send_due(ctx, tomorrow.replace(hour=22)) == 0  # not before [mail] digest_hour
    assert await mail_digest.send_due(ctx, tomorrow.replace(hour=23, minute=5)) == 1
    assert await mail_digest.send_due(ctx, tomorrow.replace(hour=23, minute=50)) == 0  # once a day
    [_, digest] = await smtp.mailbox.wait_for("ada@example.org", count=2)
    assert digest.subject == "Your daily digest: 2 new notifications"
    body = digest.body
    assert "(@bo) followed you" in body and "(@cy) followed you" in body
    assert "http://test.example/notifications" in body
    link = UNSUBSCRIBE_RE.search(body)
    assert link, body
    assert digest.message["List-Unsubscribe"] == f"<http://test.example{link.group(1)}>"
    assert digest.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    async with ctx.sessions() as session:  # the capability link does not stay in the database once sent
        sent = (await session.scalars(select(OutgoingMail).where(OutgoingMail.to_address == "ada@example.org")
                                      .order_by(OutgoingMail.id.desc()))).first()
    assert sent.state == "sent" and sent.body == "" and sent.unsubscribe_url is None

    # A tampered link changes nothing; the real one works without a login, as a mail client's one-click POST.
    await log_out(mail_client)
    tampered = link.group(1)[:-4] + ("0000" if not link.group(1).endswith("0000") else "1111")
    wrong = await mail_client.post(tampered, data={"List-Unsubscribe": "One-Click"})
    assert wrong.status == 200 and "already off" in await wrong.text()
    assert await _digest_row(ctx, ada.id) is not None
    shown = await mail_client.get(link.group(1))
    assert shown.status == 200 and "Unsubscribe" in await shown.text()
    done = await mail_client.post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200 and "will not get the daily digest" in await done.text()
    assert await _digest_row(ctx, ada.id) is None
    assert (await mail_client.get(link.group(1))).status == 200  # a spent link says so, and is harmless
    assert (await mail_client.post("/unsubscribe/digest/99999999999/" + "0" * 64)).status == 404

    assert (await log_in(mail_client, "ada", PASSWORD)).status == 303
    assert 'value="off" checked' in await (await mail_client.get("/settings/digest")).text()
    assert await mail_digest.send_due(ctx, tomorrow + timedelta(days=1)) == 0  # off: no more digests


async def test_no_digest_without_a_mail_host(client, config):
    assert (await sign_up(client, "ada")).status == 303
    page = await (await client.get("/settings/digest")).text()
    assert "does not send email" in page and 'name="digest"' not in page
    ctx = client.app[CONTEXT_KEY]
    ada = await _account(ctx, "ada")
    await mail_digest.set_enabled(ctx, ada, True)
    assert await mail_digest.send_due(ctx, utcnow() + timedelta(days=1)) == 0
    assert (await client.get("/settings/digest")).status == 200
    assert (await client.post("/settings/digest", data={"digest": "on"})).status == 403  # still CSRF-checked
