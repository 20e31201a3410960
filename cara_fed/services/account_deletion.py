"""Deleting a local account (issue 18): a grace period, then a tombstone.

Asking (the owner, with password and two-factor code) or an admin's suspension puts the account in the grace
period: status "suspended" (so pages, API, actor and media hide it everywhere suspension already does),
`deletion_due_at` set, every login session ended. Nothing is sent to other servers then. Within the period the
owner may cancel (self-service) or an admin may unsuspend; both restore the account as it was.

When the period is over, `finish_due` (a periodic job) purges the works, the media rows and their files
(originals and derivatives), portfolio archives, everything else in PURGED, the profile and the credentials,
and keeps the row as a tombstone: the username stays taken (the unique index) and the actor URL answers 410;
the keys stay so the Delete we send is signed.
It emits AccountDeleted; the federation edge sends Delete(actor) to every server that knew the account and then
calls `forget_relations` to drop the follows both ways.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, or_, select

from cara_fed.context import Context, Transaction
from cara_fed.db import Base, utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import AccountDeleted, emit
from cara_fed.models import Account, DataExport, Follow, LoginSession, MediaAsset
from cara_fed.services import accounts, archive_export, audit, media, public_media, two_factor

log = logging.getLogger(__name__)
SELF, ADMIN = "self", "admin"
# Everything the account made or holds, as (table, column naming it). Kept: the row itself (the tombstone), its
# outgoing activities and follows (the Delete goes out through them; follows are dropped after it), and reports
# about it (the moderation record).
PURGED = (("artworks", "account_id"), ("projects", "account_id"), ("job_posts", "account_id"),
          ("job_applications", "applicant_id"), ("comments", "account_id"), ("likes", "account_id"),
          ("boosts", "account_id"), ("bookmarks", "account_id"), ("blocks", "account_id"), ("blocks", "target_id"),
          ("mutes", "account_id"), ("mutes", "target_id"), ("notifications", "account_id"),
          ("notifications", "actor_id"), ("tag_follows", "account_id"), ("markers", "account_id"),
          ("data_imports", "account_id"), ("idempotency_keys", "account_id"), ("account_tokens", "account_id"),
          ("oauth_codes", "account_id"), ("oauth_tokens", "account_id"), ("recovery_codes", "account_id"),
          ("login_sessions", "account_id"), ("mail_digests", "account_id"))


def is_pending(account: Account) -> bool:
    return account.deletion_due_at is not None and account.deleted_at is None


def _enter_grace(ctx: Context, tx: Transaction, account: Account, by: str) -> None:
    account.status = "suspended"
    account.deletion_by = by
    account.deletion_due_at = utcnow() + timedelta(days=ctx.config.accounts.deletion_grace_days)
    tx.session.add(account)
    tx.after_commit(public_media.sync_account, ctx, account.id)  # its works are no longer public


async def _end_sessions(tx: Transaction, account_id: int) -> None:
    await tx.session.execute(delete(LoginSession).where(LoginSession.account_id == account_id))


async def _local(tx: Transaction, account_id: int) -> Account:
    account = await tx.session.get(Account, account_id)
    if account is None or not account.is_local or account.deleted_at is not None:
        raise NotFound("There is no such account here.")
    return account


async def request_deletion(ctx: Context, account_id: int, password: str, code: str = "") -> datetime:
    """The owner asks to delete their account; returns when it will be deleted. Wrong password or code: 400."""
    async with ctx.sessions() as session:
        account = await session.get(Account, account_id)
    if account is None or not await ctx.hashing.verify(account.password_hash, password):
        raise ValidationError({"password": "That password is not right."})
    if two_factor.is_enabled(account):
        await two_factor.check_code(ctx, account_id, code)
    async with ctx.transaction() as tx:
        account = await _local(tx, account_id)
        if account.status != "active":
            raise PermissionDenied("Only an active account can be deleted by its owner.")
        _enter_grace(ctx, tx, account, SELF)
        await _end_sessions(tx, account_id)
        due = account.deletion_due_at
    assert due is not None
    return due


async def cancel_deletion(ctx: Context, login: str, password: str, code: str, client_address: str) -> Account:
    """The owner signs in to cancel their deletion (the only thing such a login allows) and gets the account
    back as it was. Throttled like any login."""
    account = await accounts.authenticate(ctx, login, password, client_address, deletion_pending_ok=True)
    if not (is_pending(account) and account.deletion_by == SELF):
        raise ValidationError({"form": "This account is not waiting to be deleted."})
    if two_factor.is_enabled(account):
        await two_factor.check_code(ctx, account.id, code)
    return await _restore(ctx, account.id)


async def _restore(ctx: Context, account_id: int, admin: Account | None = None, reason: str = "") -> Account:
    async with ctx.transaction() as tx:
        account = await _local(tx, account_id)
        if not is_pending(account):
            raise ValidationError({"form": "This account is not waiting to be deleted."})
        by_admin = account.deletion_by == ADMIN
        account.status, account.deletion_by, account.deletion_due_at = "active", None, None
        if admin is not None:  # an admin's restore is a moderation action: its record commits with it
            audit.record(tx.session, admin, "account.restore", audit.account_key(account),
                         reason or ("lifted a suspension" if by_admin else "cancelled the owner's deletion"),
                         target_account=account)
    return account


async def suspend(ctx: Context, account_id: int, admin: Account | None = None, reason: str = "") -> datetime:
    """An admin suspends a local account: hidden at once, deleted when the grace period ends. Only an active
    one: restoring it makes it active again, which must not skip a sign-up's approval."""
    async with ctx.transaction() as tx:
        account = await _local(tx, account_id)
        if is_pending(account):
            raise ValidationError({"username": "This account is already suspended."})
        if account.status != "active":
            raise ValidationError({"username": "Only an active account can be suspended here (reject a sign-up "
                                              "on the administration page)."})
        _enter_grace(ctx, tx, account, ADMIN)
        # Written in the same transaction as the suspension (services/audit.py): who and why.
        audit.record(tx.session, admin, "account.suspend_delete", audit.account_key(account), reason,
                     target_account=account)
        log.info("admin %s suspended local account %s (@%s) for deletion", admin.id if admin else None,
                 account.id, account.username)
        await _end_sessions(tx, account_id)
        due = account.deletion_due_at
    assert due is not None
    return due


async def unsuspend(ctx: Context, account_id: int, admin: Account | None = None, reason: str = "") -> Account:
    """An admin lifts a suspension (or a self-service deletion) before the grace period ends."""
    account = await _restore(ctx, account_id, admin, reason)
    log.info("admin %s restored local account %s (@%s)", admin.id if admin else None, account.id,
             account.username)
    return account


async def finish_due(ctx: Context, now: datetime | None = None) -> int:
    """Periodic: turn every account whose grace period is over into a tombstone. Returns how many."""
    now = now or utcnow()
    async with ctx.sessions() as session:
        due = list(await session.scalars(select(Account.id).where(
            Account.deletion_due_at <= now, Account.deleted_at.is_(None), Account.domain.is_(None))))
    for account_id in due:
        await _tombstone(ctx, account_id, now)
    return len(due)


async def _tombstone(ctx: Context, account_id: int, now: datetime) -> None:
    async with ctx.transaction() as tx:
        account = await tx.session.get(Account, account_id)
        if account is None or not is_pending(account) or account.deletion_due_at > now:
            return  # cancelled meanwhile, or another process got here first
        account.avatar_asset_id = account.banner_asset_id = None
        await tx.session.flush()
        for name, column in PURGED:
            table = Base.metadata.tables[name]
            await tx.session.execute(table.delete().where(table.c[column] == account_id))
        for asset in await tx.session.scalars(select(MediaAsset).where(MediaAsset.account_id == account_id)):
            await media.delete_asset_files(ctx, tx, asset)
            await tx.session.delete(asset)
        for export in await tx.session.scalars(select(DataExport).where(DataExport.account_id == account_id)):
            if export.file_name:
                tx.after_commit(_unlink, archive_export.exports_dir(ctx) / export.file_name)
            await tx.session.delete(export)
        account.deleted_at = now
        account.email = account.password_hash = account.totp_secret = None
        account.totp_enabled_at = account.email_verified_at = None
        account.display_name = account.bio = account.bio_html = account.location = account.request_note = ""
        account.links, account.skills, account.bio_mentions, account.also_known_as = [], [], [], []
        emit(ctx, tx, AccountDeleted(account_id))


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


async def forget_relations(ctx: Context, account_id: int) -> None:
    """After the Delete went out: the tombstone follows nobody and nobody follows it."""
    async with ctx.transaction() as tx:
        await tx.session.execute(delete(Follow).where(or_(Follow.follower_id == account_id,
                                                          Follow.followee_id == account_id)))
