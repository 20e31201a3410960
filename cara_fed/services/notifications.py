"""Notifications: a generic record that something happened to an account (kind, who did it, about what).
The social features add kinds; the page and the unread count read them the same way."""

from __future__ import annotations

from sqlalchemy import select, update

from cara_fed import urls
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


async def mentioned_elsewhere(ctx: Context, sender: Account, accounts: list[Account], uri: str) -> int:
    """A remote post (not a comment on a work here) mentions local accounts: tell each once per post."""
    told = 0
    async with ctx.transaction(changes_pages=False) as tx:
        for account in accounts:
            if await tx.session.scalar(select(Notification.id).where(
                    Notification.account_id == account.id, Notification.kind == "mention",
                    Notification.object_uri == uri)):
                continue
            if notify(tx, account, "mention", actor=sender, object_type="remote_post", object_uri=uri):
                told += 1
    return told


async def mark_read(ctx: Context, account: Account, ids: list[int]) -> int:
    """Mark the given notifications of `account` read (others' ids are ignored)."""
    if not ids:
        return 0
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(update(Notification).where(
            Notification.account_id == account.id, Notification.id.in_(ids[:200]),
            Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0


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
                return urls.job(application.job_id) + "#apply"
            return urls.job_applications(application.job_id) + f"#application-{application.id}"
        if row.object_type in ("artwork", "comment", "follow"):
            return await _social_path(tx.session, row)
        return row.object_uri if row.object_uri and row.object_uri.startswith("/") else None


def _profile(account: Account) -> str:
    return urls.profile(account.username, None if account.is_local else account.domain)


async def _social_path(session, row: Notification) -> str | None:  # type: ignore[no-untyped-def]
    """Where a like, boost, comment, mention or follow notification leads on our pages."""
    from cara_fed.models import Artwork, Comment

    if row.object_type == "follow":
        if row.kind == "follow_request":
            return "/follow-requests"
        return _profile(row.actor) if row.actor is not None else None
    comment = await session.get(Comment, row.object_id) if row.object_type == "comment" else None
    artwork_id = comment.artwork_id if comment is not None else row.object_id if row.object_type == "artwork" else None
    artwork = await session.get(Artwork, artwork_id) if artwork_id is not None else None
    if artwork is None:
        return None
    return f"{_profile(artwork.account)}/{artwork.id}" + (f"#comment-{comment.id}" if comment is not None else "")


async def dismiss(ctx: Context, account: Account, notification_id: int | None = None) -> int:
    """Delete one of the account's notifications, or (None) all of them (the client API's dismiss and clear)."""
    from sqlalchemy import delete

    query = delete(Notification).where(Notification.account_id == account.id)
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(query)
    return result.rowcount or 0
