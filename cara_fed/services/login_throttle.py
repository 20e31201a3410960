"""Login throttling that stops password guessing without letting strangers lock an owner out (issue 12, defect 9).

Two limits over a sliding 15-minute window of failed logins (rows in `login_failures`):

- **Per client address**: `[security] login_attempts` failures from one address (against any accounts) and that
  address waits until its oldest failure leaves the window. This is what stops an ordinary guesser.
- **Per account, only against distributed guessing**: when one account's failures come from at least
  `SPREAD` addresses other than the one asking now, and number `login_attempts` or more, the account answers
  with an exponential back-off (1 minute, doubling per further failure, at most 15 minutes) after its latest
  failure. A single stranger can therefore never lock an account (their address is throttled instead), and the
  owner's own typos never count against the owner.
- A browser that has logged in to the account before carries a `cara_known` cookie signed with a key derived
  from the account's password hash; it skips the per-account back-off, so even a botnet cannot lock the owner
  out of a browser they use. Changing the password invalidates every such cookie.

Failures are stored as hashed keys (`ip:<address>`, `acct:<account>:<address>`), never raw passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.db import utcnow
from cara_fed.errors import RateLimited
from cara_fed.models import Account, LoginFailure

WINDOW = timedelta(minutes=15)
SPREAD = 3  # distinct other addresses before the per-account back-off starts
FIRST_BACKOFF_S = 60
KNOWN_COOKIE = "cara_known"


def _h(value: str, size: int = 24) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:size]


def subject_for(login: str, account: Account | None) -> str:
    """The per-account key: the account when it exists (username and email share it), else the name tried."""
    return f"a{account.id}" if account is not None else f"n:{login}"


def _ip_key(address: str) -> str:
    return f"ip:{address}"


def _account_prefix(subject: str) -> str:
    return f"acct:{_h(subject)}:"  # hex only: safe inside LIKE


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds()) + 1)


async def check(session: AsyncSession, *, address: str, subject: str, limit: int, known: bool) -> None:
    """Raise RateLimited (with seconds to wait) when this attempt must not be tried now."""
    now = utcnow()
    since = now - WINDOW
    count, oldest = (await session.execute(
        select(func.count(), func.min(LoginFailure.created_at))
        .where(LoginFailure.key == _ip_key(address), LoginFailure.created_at > since))).one()
    if count >= limit:
        raise RateLimited("Too many failed logins from your network. Wait a while and try again.",
                          _retry_after(oldest + WINDOW, now))
    if known:
        return
    rows = (await session.execute(
        select(LoginFailure.key, LoginFailure.created_at)
        .where(LoginFailure.key.like(_account_prefix(subject) + "%"), LoginFailure.created_at > since))).all()
    mine = _account_prefix(subject) + _h(address, 16)
    others = {key for key, _at in rows if key != mine}
    if len(others) < SPREAD or len(rows) < limit:
        return
    backoff = timedelta(seconds=min(WINDOW.total_seconds(), FIRST_BACKOFF_S * 2 ** min(len(rows) - limit, 10)))
    latest = max(at for _key, at in rows)
    if now < latest + backoff:
        raise RateLimited("This account is receiving many failed logins from several networks, so it answers "
                          "slowly for now. Wait a moment and try again (a browser you have logged in with "
                          "before is not slowed down).", _retry_after(latest + backoff, now))


def record_failure(session: AsyncSession, *, address: str, subject: str) -> None:
    session.add_all([LoginFailure(key=_ip_key(address)),
                     LoginFailure(key=_account_prefix(subject) + _h(address, 16))])


def _signature(account: Account, nonce: str) -> str:
    key = hashlib.sha256(f"cara_known:{account.password_hash}".encode()).digest()
    return hmac.new(key, f"{account.id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def known_cookie(account: Account) -> str:
    """The value of the cookie set on a successful login: this browser knows this account's password."""
    nonce = secrets.token_urlsafe(12)
    return f"{account.id}.{nonce}.{_signature(account, nonce)}"


def is_known(account: Account | None, cookie: str | None) -> bool:
    if account is None or not cookie or not account.password_hash:
        return False
    parts = cookie.split(".")
    if len(parts) != 3 or parts[0] != str(account.id):
        return False
    return hmac.compare_digest(parts[2], _signature(account, parts[1]))
