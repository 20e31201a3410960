"""Email ownership: verification on sign-up, password reset, email change (docs/accounts.md).

Each link carries a random token that works once and expires; only its SHA-256 is stored, and the stored hash is
compared in constant time. A reset request answers the same whether or not the address is registered, and is
rate-limited per client address and per address asked about. Mail goes out through services/mail.py."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from cara_fed.config import Config
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.errors import PermissionDenied, RateLimited, ValidationError
from cara_fed.models import Account, AccountToken, LoginFailure, LoginSession
from cara_fed.services import mail
from cara_fed.services.password_rules import password_problem

VERIFY_DAYS = 7
RESET_WINDOW = timedelta(minutes=15)  # login_failures rows older than this are pruned at each login
PER_ADDRESS_ASKED = 3
EXPIRED = "This link has expired or has already been used. Ask for a new one."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def needs_verification(config: Config, account: Account | None) -> bool:
    """True while a local account must still confirm its address ([mail] require_verified_email)."""
    return (account is not None and account.domain is None and config.mail.enabled
            and config.mail.require_verified_email and account.email_verified_at is None)


def require_verified(ctx: Context, account: Account) -> None:
    """Publishing and commenting wait for a confirmed address (against throwaway spam accounts)."""
    if needs_verification(ctx.config, account):
        raise PermissionDenied("Confirm your email address first: follow the link we sent you (Settings → "
                               "Account security can send it again).")


async def _issue(tx: Transaction, account: Account, purpose: str, email: str | None, lifetime: timedelta) -> str:
    """A new token for (account, purpose); earlier unused ones of the same purpose stop working."""
    await tx.session.execute(delete(AccountToken).where(AccountToken.account_id == account.id,
                                                        AccountToken.purpose == purpose))
    token = secrets.token_urlsafe(32)
    tx.session.add(AccountToken(account_id=account.id, purpose=purpose, token_hash=token_hash(token), email=email,
                                expires_at=utcnow() + lifetime))
    return token


async def _consume(tx: Transaction, token: str, purpose: str) -> tuple[AccountToken, Account]:
    """Use a token once: refused when unknown, of another purpose, expired or used (even by a racing request)."""
    wanted = token_hash(token)
    row = await tx.session.scalar(select(AccountToken).where(AccountToken.token_hash == wanted))
    now = utcnow()
    if (row is None or not hmac.compare_digest(row.token_hash, wanted) or row.purpose != purpose
            or row.used_at is not None or row.expires_at < now):
        raise ValidationError({"token": EXPIRED})
    used = await tx.session.execute(update(AccountToken).where(AccountToken.id == row.id,
                                                               AccountToken.used_at.is_(None)).values(used_at=now))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise ValidationError({"token": EXPIRED})
    account = await tx.session.get(Account, row.account_id)
    if account is None or account.status != "active":
        raise ValidationError({"token": EXPIRED})
    return row, account


async def check_token(ctx: Context, token: str, purpose: str) -> bool:
    """Whether a link still works (to show its form, or say plainly that it does not); uses nothing."""
    async with ctx.sessions() as session:
        row = await session.scalar(select(AccountToken).where(AccountToken.token_hash == token_hash(token)))
    return row is not None and row.purpose == purpose and row.used_at is None and row.expires_at >= utcnow()


async def send_verification(ctx: Context, tx: Transaction, account: Account) -> None:
    if not ctx.config.mail.enabled or not account.email or account.domain is not None:
        return
    token = await _issue(tx, account, "verify", account.email, timedelta(days=VERIFY_DAYS))
    name = ctx.config.instance.name
    mail.queue(ctx, tx, account.email, f"Confirm your email address on {name}",
               f"Hello {account.username},\n\nplease confirm that this is your address on {name}:\n\n"
               f"{ctx.url('/verify-email/' + token)}\n\nThe link works once, for {VERIFY_DAYS} days. If you did not "
               "sign up, ignore this mail.\n")


def tell_owner_of_sign_up_attempt(ctx: Context, tx: Transaction, email: str) -> None:
    """A sign-up named an address that already has an account: the sign-up answers as usual (no account
    enumeration) and the address's owner hears about it, with the way back in if they forgot their password."""
    name = ctx.config.instance.name
    mail.queue(ctx, tx, email, f"Sign-up attempt on {name}",
               f"Someone tried to sign up on {name} with this address, which already has an account here. If it "
               f"was you and you forgot your password, choose a new one at {ctx.url('/forgot-password')}. "
               "Otherwise ignore this mail.\n")


async def resend_verification(ctx: Context, account_id: int) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        account = await tx.session.get(Account, account_id)
        if account is not None and account.email_verified_at is None:
            await send_verification(ctx, tx, account)


async def verify(ctx: Context, token: str) -> Account:
    async with ctx.transaction() as tx:
        row, account = await _consume(tx, token, "verify")
        if row.email != account.email:  # the address changed since: this link confirms nothing
            raise ValidationError({"token": EXPIRED})
        account.email_verified_at = utcnow()
    return account


async def _throttle(tx: Transaction, ctx: Context, address: str, email: str) -> None:
    since = utcnow() - RESET_WINDOW
    keys = {f"reset:ip:{token_hash(address)[:24]}": ctx.config.mail.reset_requests,
            f"reset:to:{token_hash(email)[:24]}": PER_ADDRESS_ASKED}
    for key, limit in keys.items():
        count = await tx.session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.key == key, LoginFailure.created_at >= since))
        if (count or 0) >= limit:
            raise RateLimited("Too many password-reset requests; wait a few minutes and try again.",
                              int(RESET_WINDOW.total_seconds()))
    tx.session.add_all([LoginFailure(key=key) for key in keys])


async def request_reset(ctx: Context, email: str, client_address: str) -> None:
    """Mail a reset link if a local account uses `email`; the caller answers the same either way."""
    email = email.strip().lower()
    if not ctx.config.mail.enabled:
        raise ValidationError({"form": "This instance does not send email; ask an admin to reset your password."})
    if "@" not in email or len(email) > 320:
        raise ValidationError({"email": "Enter the email address of your account."})
    async with ctx.transaction(changes_pages=False) as tx:
        await _throttle(tx, ctx, client_address, email)
        account = await tx.session.scalar(select(Account).where(Account.email == email, Account.domain.is_(None),
                                                                Account.status == "active"))
        if account is None:
            return
        token = await _issue(tx, account, "reset", email, timedelta(minutes=ctx.config.mail.token_minutes))
        mail.queue(ctx, tx, email, f"Reset your password on {ctx.config.instance.name}",
                   f"Hello {account.username},\n\nsomeone (hopefully you) asked to reset your password. Choose a new "
                   f"one here:\n\n{ctx.url('/reset-password/' + token)}\n\nThe link works once, for "
                   f"{ctx.config.mail.token_minutes} minutes. If it was not you, ignore this mail: your password "
                   "stays as it is.\n")


async def reset_password(ctx: Context, token: str, password: str) -> Account:
    """Set a new password from a reset link; every login session of the account ends."""
    if problem := password_problem(password):
        raise ValidationError({"password": problem})
    fresh = await ctx.hashing.hash(password)  # before the transaction: no connection held while argon2 runs
    async with ctx.transaction() as tx:
        row, account = await _consume(tx, token, "reset")
        account.password_hash = fresh
        if row.email == account.email and account.email_verified_at is None:
            account.email_verified_at = utcnow()  # the link reached that inbox
        await tx.session.execute(delete(LoginSession).where(LoginSession.account_id == account.id))
    return account


async def queue_email_change(ctx: Context, tx: Transaction, account: Account, new_email: str) -> None:
    """Mail a confirmation link to the new address and a notice to the old one; the address changes only when
    the link is followed (the caller has checked the password and the address's form). An address that is
    already registered gets a notice instead, and the caller answers the same, so the form cannot be used to find
    out who has an account here."""
    name = ctx.config.instance.name
    taken = await tx.session.scalar(select(Account.id).where(Account.email == new_email, Account.id != account.id))
    if taken:
        mail.queue(ctx, tx, new_email, f"Email change on {name}",
                   f"Someone asked to move an account on {name} to this address, but it already belongs to an "
                   "account here, so nothing was changed. If you did not ask, ignore this mail.\n")
        return
    token = await _issue(tx, account, "email", new_email, timedelta(minutes=ctx.config.mail.token_minutes))
    mail.queue(ctx, tx, new_email, f"Confirm your new email address on {name}",
               f"Hello {account.username},\n\nconfirm that this is your new address on {name}:\n\n"
               f"{ctx.url('/confirm-email/' + token)}\n\nThe link works once, for "
               f"{ctx.config.mail.token_minutes} minutes.\n")
    if account.email:
        mail.queue(ctx, tx, account.email, f"Your email address on {name} is being changed",
                   f"Hello {account.username},\n\nsomeone signed in to your account asked to change its email "
                   f"address to {new_email}. It changes once that address confirms. If this was not you, "
                   f"reset your password at {ctx.url('/forgot-password')} and turn on two-factor "
                   "authentication.\n")


async def confirm_email_change(ctx: Context, token: str) -> Account:
    async with ctx.transaction() as tx:
        row, account = await _consume(tx, token, "email")
        if row.email is None or await tx.session.scalar(select(Account.id).where(Account.email == row.email)):
            raise ValidationError({"token": "That address belongs to another account by now; nothing changed."})
        account.email = row.email
        account.email_verified_at = utcnow()
    return account
