"""The daily digest email (issue 18's optional notification emails): off by default; an artist opts in at
/settings/digest. The periodic job `mail_digest` (worker.py) mails each opted-in account with a verified address
at most once per UTC day, from [mail] digest_hour on: the notifications still unread that arrived since the last
digest (since the opt-in for the first). Nothing is sent when there are none, or without a mail host.

Every digest carries a one-click unsubscribe link (body, and the List-Unsubscribe / List-Unsubscribe-Post headers
of RFC 8058) signed with the opt-in's own random key: it needs no login, and a new opt-in makes old links void."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import Account, MailDigest, Notification
from cara_fed.services import mail

log = logging.getLogger(__name__)

MAX_LISTED = 50  # a digest lists this many; the rest are counted ("and 12 more")
BATCH = 200  # accounts per run; the rest are due at the next run
# How a notification reads in the mail (the notifications page has the same words).
TEXT = {"job_application": "applied to your job", "application_new": "moved your application back to new",
        "application_shortlisted": "shortlisted your application",
        "application_declined": "declined your application", "follow": "followed you",
        "follow_request": "asked to follow you", "like": "liked your work", "boost": "boosted your work",
        "comment": "commented on your work", "reply": "replied to your comment", "mention": "mentioned you",
        "moderation_decision": "made a decision about your account or work",
        "appeal_decided": "decided on your appeal"}


async def is_enabled(ctx: Context, account: Account) -> bool:
    async with ctx.sessions() as session:
        return await session.get(MailDigest, account.id) is not None


async def set_enabled(ctx: Context, account: Account, enabled: bool) -> None:
    """Opt in (a fresh key; the first digest covers what arrives from now on) or out (the row goes)."""
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(MailDigest, account.id)
        if enabled and row is None:
            tx.session.add(MailDigest(account_id=account.id, key=secrets.token_hex(32), enabled_at=utcnow()))
        elif not enabled and row is not None:
            await tx.session.delete(row)


def _signature(row: MailDigest) -> str:
    return hmac.new(bytes.fromhex(row.key), f"digest-unsubscribe:{row.account_id}".encode(),
                    hashlib.sha256).hexdigest()


def unsubscribe_path(row: MailDigest) -> str:
    return f"/unsubscribe/digest/{row.account_id}/{_signature(row)}"


async def valid_link(ctx: Context, account_id: int, signature: str) -> bool:
    async with ctx.sessions() as session:
        row = await session.get(MailDigest, account_id)
    return row is not None and hmac.compare_digest(_signature(row), signature)


async def unsubscribe(ctx: Context, account_id: int, signature: str) -> bool:
    """The link's action: True if it turned the digest off (a wrong or stale signature changes nothing)."""
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(MailDigest, account_id)
        if row is None or not hmac.compare_digest(_signature(row), signature):
            return False
        await tx.session.execute(delete(MailDigest).where(MailDigest.account_id == account_id))
    log.info("account %s left the daily digest by its unsubscribe link", account_id)
    return True


def today_at_digest_hour(ctx: Context, now: datetime) -> datetime:
    return now.replace(hour=ctx.config.mail.digest_hour, minute=0, second=0, microsecond=0)


async def send_due(ctx: Context, now: datetime | None = None) -> int:
    """The periodic job's body: queue today's digests that are due. Returns how many were queued."""
    if not ctx.config.mail.enabled:
        return 0
    now = now or utcnow()
    start = today_at_digest_hour(ctx, now)
    if now < start:
        return 0  # not yet today
    async with ctx.sessions() as session:
        due = list((await session.scalars(select(MailDigest.account_id).where(
            (MailDigest.last_checked_at.is_(None)) | (MailDigest.last_checked_at < start)).limit(BATCH))).all())
    sent = 0
    for account_id in due:
        sent += await _digest_one(ctx, account_id, start, now)
    return sent


async def _digest_one(ctx: Context, account_id: int, start: datetime, now: datetime) -> int:
    """One account, in one transaction: the check is recorded with the mail, so a rerun cannot send it twice."""
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(MailDigest, account_id, with_for_update=True)
        if row is None or (row.last_checked_at is not None and row.last_checked_at >= start):
            return 0  # left, or another worker got here first
        row.last_checked_at = now
        account = await tx.session.get(Account, account_id)
        if (account is None or account.status != "active" or not account.email
                or account.email_verified_at is None):
            return 0  # only to a confirmed address of an active account
        since = row.last_sent_at or row.enabled_at
        unread = list((await tx.session.scalars(select(Notification).where(
            Notification.account_id == account_id, Notification.read_at.is_(None),
            Notification.created_at > since).order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(MAX_LISTED + 1))).all())
        if not unread:
            return 0
        total = len(unread) if len(unread) <= MAX_LISTED else await _count(tx.session, account_id, since)
        row.last_sent_at = now
        unsubscribe = ctx.url(unsubscribe_path(row))
        mail.queue(ctx, tx, account.email, _subject(total), _body(ctx, account, unread[:MAX_LISTED], total,
                                                                  unsubscribe), unsubscribe=unsubscribe)
    return 1


async def _count(session, account_id: int, since: datetime) -> int:  # type: ignore[no-untyped-def]
    return int(await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.account_id == account_id, Notification.read_at.is_(None),
        Notification.created_at > since)) or 0)


def _subject(total: int) -> str:
    return f"Your daily digest: {total} new notification{'s' if total != 1 else ''}"


def _line(notification: Notification) -> str:
    actor = notification.actor
    who = ("The moderators" if notification.kind in ("moderation_decision", "appeal_decided") else "Someone")
    if actor is not None:
        handle = f"@{actor.username}" + (f"@{actor.domain}" if actor.domain else "")
        who = f"{actor.display_name or actor.username} ({handle})"
    what = TEXT.get(notification.kind, notification.kind.replace("_", " "))
    return f"- {who} {what} · {notification.created_at:%Y-%m-%d %H:%M} UTC"


def _body(ctx: Context, account: Account, listed: list[Notification], total: int, unsubscribe: str) -> str:
    lines = [f"Hello {account.display_name or account.username},", "",
             f"Here is what happened on {ctx.config.server.domain} since your last digest:", ""]
    lines += [_line(n) for n in listed]
    if total > len(listed):
        lines.append(f"…and {total - len(listed)} more.")
    lines += ["", f"See them all: {ctx.url('/notifications')}", "",
              "You get this mail because you asked for a daily digest. To stop it, open this link (no login "
              f"needed), or turn it off in Settings:\n{unsubscribe}"]
    return "\n".join(lines)


def next_run_after(ctx: Context, now: datetime) -> datetime:
    """When the next digest may go (shown on the settings page)."""
    start = today_at_digest_hour(ctx, now)
    return start if now < start else start + timedelta(days=1)
