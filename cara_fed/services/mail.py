"""Account emails through SMTP ([mail]): queued as `OutgoingMail` rows and sent by the `send_mail` job, so a slow
or broken SMTP server never holds up a request. A failed try waits 1, 4, 16... minutes (the sweep re-queues it);
after [mail] attempts the mail is given up. Bodies may carry a single-use link, so they are blanked once the
mail is sent or given up."""

from __future__ import annotations

import asyncio
import email.policy
import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select, update

from cara_fed import tasks
from cara_fed.config import MailConfig
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.models import OutgoingMail
from cara_fed.states import transition

log = logging.getLogger(__name__)


def sender(ctx: Context) -> str:
    return ctx.config.mail.from_address or f"noreply@{ctx.config.server.domain.rsplit(':', 1)[0]}"


def queue(ctx: Context, tx: Transaction, to_address: str, subject: str, body: str,
          unsubscribe: str | None = None) -> None:
    """Write the mail in the caller's transaction; the job is queued once it commits. No-op without a mail host.
    `unsubscribe`: a link that stops this kind of mail with one POST (sent as List-Unsubscribe, RFC 8058)."""
    if not ctx.config.mail.enabled:
        return
    mail = OutgoingMail(to_address=to_address, subject=subject[:200], body=body, unsubscribe_url=unsubscribe)
    tx.session.add(mail)

    async def enqueue() -> None:
        await ctx.jobs.enqueue(tasks.SEND_MAIL, mail.id)

    tx.after_commit(enqueue)


# A List-Unsubscribe URL is one long word: with the default 78-column folding it would be sent RFC 2047-encoded,
# which mail clients do not read as a link. RFC 5322 allows 998.
LONG_HEADERS = email.policy.default.clone(max_line_length=998)


def _message(mail: OutgoingMail, from_address: str, domain: str) -> EmailMessage:
    message = EmailMessage(policy=LONG_HEADERS) if mail.unsubscribe_url else EmailMessage()
    message["From"] = from_address
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=domain.rsplit(":", 1)[0] or None)
    if mail.unsubscribe_url:  # mail clients show an "unsubscribe" button that POSTs to it (no login, no page)
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.body)
    return message


def _deliver(config: MailConfig, message: EmailMessage) -> None:
    """One blocking SMTP conversation (run in a thread)."""
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if config.security == "ssl" else smtplib.SMTP
    kwargs = {"context": context} if config.security == "ssl" else {}
    with smtp_class(config.host, config.port, timeout=config.timeout_seconds, **kwargs) as smtp:
        if config.security == "starttls":
            smtp.starttls(context=context)
        if config.user:
            smtp.login(config.user, config.password)
        smtp.send_message(message)


async def send_mail(ctx: Context, mail_id: int) -> None:
    """The job: claim the mail (a lease of twice the SMTP timeout, so a duplicate job does not send it again),
    try once, and record the outcome."""
    config = ctx.config.mail
    now = utcnow()
    lease = now + timedelta(seconds=2 * config.timeout_seconds + 30)
    async with ctx.transaction(changes_pages=False) as tx:
        claimed = await tx.session.execute(
            update(OutgoingMail).where(OutgoingMail.id == mail_id, OutgoingMail.state == "queued",
                                       OutgoingMail.next_attempt_at <= now)
            .values(next_attempt_at=lease, attempts=OutgoingMail.attempts + 1))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return
        mail = await tx.session.get(OutgoingMail, mail_id)
        assert mail is not None
        message = _message(mail, sender(ctx), ctx.config.server.domain)
        attempts = mail.attempts
    error = ""
    try:
        await asyncio.to_thread(_deliver, config, message)
    except (OSError, smtplib.SMTPException) as exc:  # refused, timed out, TLS, authentication, rejected
        error = f"{type(exc).__name__}: {exc}"[:500]
    async with ctx.transaction(changes_pages=False) as tx:
        mail = await tx.session.get(OutgoingMail, mail_id)
        if mail is None or mail.state != "queued":
            return
        mail.last_error = error
        if not error:
            transition(mail, "sent")
            mail.body, mail.unsubscribe_url = "", None
        elif attempts >= config.attempts:
            log.warning("gave up on mail %s to %s after %s tries: %s", mail_id, mail.to_address, attempts, error)
            transition(mail, "failed")
            mail.body, mail.unsubscribe_url = "", None
        else:
            log.info("mail %s: try %s failed (%s); retrying later", mail_id, attempts, error)
            mail.next_attempt_at = utcnow() + timedelta(minutes=4 ** (attempts - 1))


async def sweep(ctx: Context) -> int:
    """Periodic: queue again the mails whose next try is due (failed tries, or a worker that died)."""
    if not ctx.config.mail.enabled:
        return 0
    async with ctx.sessions() as session:
        due = (await session.scalars(select(OutgoingMail.id).where(
            OutgoingMail.state == "queued", OutgoingMail.next_attempt_at <= utcnow()).limit(200))).all()
    for mail_id in due:
        await ctx.jobs.enqueue(tasks.SEND_MAIL, mail_id)
    return len(due)
