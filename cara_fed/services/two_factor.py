"""Two-factor authentication with TOTP (RFC 6238, via pyotp) and one-time recovery codes (docs/accounts.md).

Enrolment stores a secret that counts only once the owner proves their app with a current code; ten recovery
codes are then shown once and kept as SHA-256 hashes. A code is good once: the last accepted time step is kept,
so a code seen over a shoulder cannot be replayed. Wrong codes are limited per account (login_failures rows).
Between password and code the login is "half done": a short-lived token signed with a key derived from the
account's password hash and TOTP secret (so it dies with either), which grants nothing but the code form."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

import pyotp
from sqlalchemy import delete, func, select, update

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import RateLimited, ValidationError
from cara_fed.models import Account, LoginFailure, RecoveryCode

RECOVERY_CODES = 10
PENDING_SECONDS = 300
WRONG_CODES = 5  # per account per 15 minutes
WINDOW = timedelta(minutes=15)
WRONG = "That code is not right (or was already used). Use the current code from your app, or a recovery code."


def is_enabled(account: Account) -> bool:
    return account.totp_enabled_at is not None and bool(account.totp_secret)


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_code() -> str:
    raw = secrets.token_hex(10)  # 80 bits: a leaked hash cannot be reversed by brute force
    return "-".join(raw[i:i + 5] for i in range(0, 20, 5))


def provisioning_uri(account: Account, issuer: str, domain: str) -> str:
    assert account.totp_secret
    return pyotp.TOTP(account.totp_secret).provisioning_uri(name=f"{account.username}@{domain}", issuer_name=issuer)


async def start_enrolment(ctx: Context, account_id: int) -> Account:
    """A secret waiting for confirmation (kept across reloads of the enrolment page)."""
    async with ctx.transaction(changes_pages=False) as tx:
        account = await tx.session.get(Account, account_id)
        assert account is not None
        if not is_enabled(account) and not account.totp_secret:
            account.totp_secret = pyotp.random_base32()
    return account


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is, unless already used."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            return step
    return None


async def _throttled(session, account_id: int) -> None:  # type: ignore[no-untyped-def]
    wrong = await session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.key == f"2fa:a{account_id}", LoginFailure.created_at >= utcnow() - WINDOW))
    if (wrong or 0) >= WRONG_CODES:
        raise RateLimited("Too many wrong codes; wait a few minutes and try again.", int(WINDOW.total_seconds()))


async def _record_wrong(ctx: Context, account_id: int) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        tx.session.add(LoginFailure(key=f"2fa:a{account_id}"))


async def confirm_enrolment(ctx: Context, account_id: int, code: str) -> list[str]:
    """Turn two-factor on with a current code from the app; returns the recovery codes (shown once)."""
    async with ctx.transaction(changes_pages=False) as tx:
        account = await tx.session.get(Account, account_id)
        assert account is not None
        if is_enabled(account):
            raise ValidationError({"code": "Two-factor authentication is already on."})
        if not account.totp_secret:
            raise ValidationError({"code": "Start again: the enrolment page shows a new QR code."})
        await _throttled(tx.session, account_id)
        step = _matching_step(account.totp_secret, code, None)
        if step is not None:
            account.totp_enabled_at = utcnow()
            account.totp_last_step = step
            codes = [_new_code() for _ in range(RECOVERY_CODES)]
            await tx.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
            tx.session.add_all([RecoveryCode(account_id=account_id, code_hash=_code_hash(c)) for c in codes])
    if step is None:
        await _record_wrong(ctx, account_id)
        raise ValidationError({"code": "That code is not right. Check your app's clock and enter the code it "
                                       "shows now."})
    return codes


async def check_code(ctx: Context, account_id: int, code: str) -> None:
    """Accept a current TOTP code or an unused recovery code, once; raise ValidationError or RateLimited."""
    async with ctx.transaction(changes_pages=False) as tx:
        account = await tx.session.get(Account, account_id)
        if account is None or not is_enabled(account):
            raise ValidationError({"code": WRONG})
        await _throttled(tx.session, account_id)
        assert account.totp_secret
        step = _matching_step(account.totp_secret, code, account.totp_last_step)
        if step is not None:
            account.totp_last_step = step
            return
        if len(code.strip()) > 6:  # a recovery code: spent atomically, so two racing logins cannot both use it
            used = await tx.session.execute(update(RecoveryCode).where(
                RecoveryCode.account_id == account_id, RecoveryCode.code_hash == _code_hash(code),
                RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
            if used.rowcount == 1:  # type: ignore[attr-defined]
                return
    await _record_wrong(ctx, account_id)
    raise ValidationError({"code": WRONG})


async def recovery_codes_left(ctx: Context, account_id: int) -> int:
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(RecoveryCode).where(
            RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))) or 0


async def disable(ctx: Context, account_id: int, password: str, code: str) -> None:
    """Turn two-factor off: needs the password and a current (or recovery) code."""
    async with ctx.sessions() as session:
        account = await session.get(Account, account_id)
    assert account is not None
    if not await ctx.hashing.verify(account.password_hash, password):
        raise ValidationError({"password": "That password is not right."})
    await check_code(ctx, account_id, code)
    async with ctx.transaction(changes_pages=False) as tx:
        account = await tx.session.get(Account, account_id)
        assert account is not None
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        await tx.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))


async def new_recovery_codes(ctx: Context, account_id: int, password: str, code: str) -> list[str]:
    """Replace every recovery code (the old ones stop working); needs the password and a current code."""
    async with ctx.sessions() as session:
        account = await session.get(Account, account_id)
    assert account is not None
    if not await ctx.hashing.verify(account.password_hash, password):
        raise ValidationError({"password": "That password is not right."})
    await check_code(ctx, account_id, code)
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
        tx.session.add_all([RecoveryCode(account_id=account_id, code_hash=_code_hash(c)) for c in codes])
    return codes


def _pending_signature(account: Account, payload: str) -> str:
    key = hashlib.sha256(f"cara_2fa:{account.password_hash}:{account.totp_secret}".encode()).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def pending_login(account: Account) -> str:
    """The half-logged-in token: password checked, code still due."""
    payload = f"{account.id}.{int(time.time()) + PENDING_SECONDS}"
    return f"{payload}.{_pending_signature(account, payload)}"


async def pending_account(ctx: Context, token: str | None) -> Account | None:
    """The account a half-logged-in token names, if it is genuine, fresh and the account still needs a code."""
    parts = (token or "").split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 10:
        return None
    if int(parts[1]) < time.time():
        return None
    async with ctx.sessions() as session:
        account = await session.get(Account, int(parts[0]))
    if account is None or account.status != "active" or not is_enabled(account):
        return None
    if not hmac.compare_digest(parts[2], _pending_signature(account, f"{parts[0]}.{parts[1]}")):
        return None
    return account
