"""Notifications: a generic record that something happened to an account (kind, who did it, about what).
The social features add kinds; the page and the unread count read them the same way."""

from __future__ import annotations

from sqlalchemy import update

from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.models import Account, Notification


def notify(tx: Transaction, account: Account, kind: str, *, actor: Account | None = None, object_type: str = "",
           object_id: int | None = None, object_uri: str | None = None) -> Notification | None:
    """Add a notification in the caller's transaction. Remote accounts get none (their server tells them)."""
    if not account.is_local:
        return None
    row = Notification(account_id=account.id, kind=kind, actor_id=actor.id if actor is not None else None,
                       object_type=object_type, object_id=object_id, object_uri=object_uri)
    tx.session.add(row)
    return row


async def mark_all_read(ctx: Context, account: Account) -> int:
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(update(Notification).where(
            Notification.account_id == account.id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0


async def open_one(ctx: Context, account: Account, notification_id: int) -> str | None:
    """Mark it read; return the path of what it is about (None when it points nowhere we know)."""
    from cara_fed.models import JobApplication

    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(Notification, notification_id)
        if row is None or row.account_id != account.id:
            return None
        row.read_at = row.read_at or utcnow()
        if row.object_type == "job_application" and row.object_id is not None:
            application = await tx.session.get(JobApplication, row.object_id)
            if application is None:
                return None
            if application.applicant_id == account.id:
                return f"/jobs/{application.job_id}#apply"
            return f"/jobs/{application.job_id}/applications#application-{application.id}"
        return row.object_uri if row.object_uri and row.object_uri.startswith("/") else None
