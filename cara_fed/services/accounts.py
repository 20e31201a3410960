"""Accounts: sign-up (per registration mode), authentication with rate limiting, login sessions, profiles."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries_accounts, queries_social
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.errors import Overloaded, ValidationError
from cara_fed.events import AccountUpdated, emit
from cara_fed.models import Account, Invite, LoginFailure, LoginSession
from cara_fed.models.accounts import ACCOUNT_KINDS
from cara_fed.queries_accounts import LEAN
from cara_fed.services import account_email, audit, login_throttle, mentions, public_media
from cara_fed.services.media import Upload, check_upload, store_original
from cara_fed.services.password_rules import MIN_PASSWORD, password_problem
from cara_fed.text import render_markdown, username_problem

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIGN_UP_TRIES = 3  # a rerun sees the racing winner; only a stream of racers could need more

log = logging.getLogger(__name__)
FAILURE_WINDOW = login_throttle.WINDOW


def generate_keys() -> tuple[str, str]:
    """RSA-2048 key pair (PEM) for signing this account's federation requests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def generate_proof_key() -> str:
    """An Ed25519 private key (PEM) for the account's FEP-8b32 object integrity proofs (microseconds to make)."""
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


async def create_account(ctx: Context, tx: Transaction, username: str, email: str, password: str, *,
                         kind: str = "artist", is_admin: bool = False, display_name: str = "",
                         invite_code: str | None = None, request_note: str = "",
                         bypass_registration: bool = False, password_hash: str | None = None) -> Account:
    """Create a local account. Sign-ups obey the registration mode unless an admin tool bypasses it.
    `password_hash`: `password` hashed already (sign_up does it before its transaction, so a sign-up storm
    does not hold database connections while argon2 runs)."""
    session = tx.session
    username = username.strip().lower()
    email = email.strip().lower()
    errors: dict[str, str] = {}
    mode = ctx.config.instance.registration
    if not bypass_registration and mode == "closed":
        raise ValidationError({"form": "Sign-ups are closed on this instance."})
    if problem := username_problem(username):
        errors["username"] = problem
    if not EMAIL_RE.match(email):
        errors["email"] = "Enter an email address like name@example.org."
    if problem := password_problem(password):
        errors["password"] = problem
    if kind not in ACCOUNT_KINDS:
        errors["kind"] = f"Choose one of: {', '.join(ACCOUNT_KINDS)}."
    if "username" not in errors and await session.scalar(
            select(Account.id).where(Account.username == username, Account.domain.is_(None))):
        errors["username"] = f"The name “{username}” is already taken."
    # An email that is already registered is not reported (that would tell anyone whose email has an account
    # here): the new account is created without it, and the reply is the same as for a new address.
    # Admin tools (bypass_registration) are told plainly.
    email_taken = "email" not in errors and bool(await session.scalar(select(Account.id).where(Account.email == email)))
    if email_taken and bypass_registration:
        errors["email"] = "An account with this email already exists."
    invite = None
    if not bypass_registration and mode == "invite":
        invite = await session.get(Invite, invite_code or "")
        if invite is None or invite.used_by_id is not None or (invite.expires_at and invite.expires_at < utcnow()):
            errors["invite"] = "This instance is invite-only; the invite code is missing, used or expired."
    if errors:
        raise ValidationError(errors)

    private_pem, public_pem = await ctx.hashing.run(generate_keys)  # RSA key generation: CPU, off the loop too
    account = Account(username=username, email=None if email_taken else email,
                      password_hash=password_hash or await ctx.hashing.hash(password), kind=kind,
                      is_admin=is_admin, display_name=display_name.strip()[:100] or username,
                      status="pending" if (mode == "approval" and not bypass_registration) else "active",
                      request_note=request_note[:1000], private_key_pem=private_pem, public_key_pem=public_pem,
                      ed25519_private_key_pem=generate_proof_key())
    if bypass_registration and account.email:
        account.email_verified_at = utcnow()  # an admin tool vouches for the address
    session.add(account)
    await session.flush()
    if invite is not None and not await _claim_invite(session, invite.code, account.id):
        # Another sign-up used the code between our check and now: this one is refused and rolled back.
        raise ValidationError({"invite": "This invite code has just been used by another sign-up."})
    if not bypass_registration:
        await account_email.send_verification(ctx, tx, account)
        if email_taken:
            account_email.tell_owner_of_sign_up_attempt(ctx, tx, email)
    return account


async def _claim_invite(session: AsyncSession, code: str, account_id: int) -> bool:
    """Mark the invite used by `account_id` only if it is still unused (compare-and-set): two sign-ups with one
    code at the same moment both pass the check above, and only one of them may take it."""
    result = await session.execute(update(Invite).where(Invite.code == code, Invite.used_by_id.is_(None))
                                   .values(used_by_id=account_id).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def sign_up(ctx: Context, username: str, email: str, password: str, **options: Any) -> Account:
    """create_account in a transaction of its own (the sign-up forms, the client API). Two sign-ups at the same
    moment for one name or email both pass its checks; the database's unique indexes refuse the later insert,
    and a rerun, whose checks now see the winner, answers as if it had come second: "already taken" for the
    name, for the email what any registered address gets. Never a 500, never two accounts with one name."""
    if len(password) >= MIN_PASSWORD:  # else create_account explains; no hashing for a refused form
        options["password_hash"] = await ctx.hashing.hash(password)
    for attempt in range(SIGN_UP_TRIES):
        try:
            async with ctx.transaction() as tx:
                return await create_account(ctx, tx, username, email, password, **options)
        except IntegrityError:
            log.info("sign-up for %r lost a race (attempt %d); checking again", username, attempt + 1)
    raise ValidationError({"form": "Many sign-ups arrived at once; please send the form again."})


async def authenticate(ctx: Context, login: str, password: str, client_address: str,
                       known_cookie: str | None = None, deletion_pending_ok: bool = False) -> Account:
    """Check a username-or-email and password. Raises ValidationError or RateLimited (see login_throttle:
    per client address, and per account only against guessing from many addresses; `known_cookie` is the
    browser's `cara_known` cookie, which exempts the account's own browsers from the per-account back-off)."""
    login = login.strip().lower()
    # Read and check the throttle, then hash with no database connection held (argon2 takes tens of ms in the
    # hashing pool; a storm must not empty the connection pool), then record a failure in a short write.
    async with ctx.sessions() as session:
        column = Account.email if "@" in login else Account.username
        account = await session.scalar(select(Account).where(column == login, Account.domain.is_(None)))
        subject = login_throttle.subject_for(login, account)
        await login_throttle.check(session, address=client_address, subject=subject,
                                   limit=ctx.config.security.login_attempts,
                                   known=login_throttle.is_known(account, known_cookie))
    stored = account.password_hash if account else None
    failed = not await ctx.hashing.verify(stored, password)
    if failed:
        async with ctx.transaction(changes_pages=False) as tx:  # no page shows login failures
            login_throttle.record_failure(tx.session, address=client_address, subject=subject)
    elif stored and ctx.hashing.needs_rehash(stored):
        await _rehash(ctx, account, password)  # type: ignore[arg-type]
    if failed:
        raise ValidationError({"form": "That name or password is not right."})
    assert account is not None
    if account.status == "pending":
        raise ValidationError({"form": "Your account is waiting for a moderator's approval."})
    if account.status == "suspended":
        if account.deletion_by == "self" and account.deleted_at is None:
            if deletion_pending_ok:  # signing in to cancel the deletion (services/account_deletion.py)
                return account
            raise ValidationError({"form": "This account is being deleted. You can still cancel that on the "
                                           "“Cancel deletion” page."})
        raise ValidationError({"form": "This account is suspended."})
    return account


async def _rehash(ctx: Context, account: Account, password: str) -> None:
    """Upgrade a hash made with other costs (e.g. before [security] password_hash_* changed) to the configured
    ones, unless the password changed meanwhile. The `cara_known` cookies of the account's other browsers are
    signed with the old hash and stop exempting them once (login_throttle); this login's cookie is signed anew."""
    try:
        fresh = await ctx.hashing.hash(password)
    except Overloaded:
        return  # next time
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(update(Account).where(Account.id == account.id,
                                                                Account.password_hash == account.password_hash)
                                          .values(password_hash=fresh))
    if result.rowcount == 1:  # type: ignore[attr-defined]
        account.password_hash = fresh


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(ctx: Context, account: Account) -> tuple[str, LoginSession]:
    """Returns (cookie token, session row). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(id=_token_id(token), account_id=account.id, csrf_token=secrets.token_urlsafe(24),
                       expires_at=utcnow() + timedelta(days=ctx.config.security.session_days))
    async with ctx.transaction(changes_pages=False) as tx:  # no anonymous page shows who is logged in
        tx.session.add(row)
        # Housekeeping: expired sessions and old failures go.
        await tx.session.execute(delete(LoginSession).where(LoginSession.expires_at < utcnow()))
        await tx.session.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - FAILURE_WINDOW))
    return token, row


def _session_select(with_unread: bool) -> Any:
    columns: list[Any] = [LoginSession, Account]
    if with_unread:
        owner = select(LoginSession.account_id).where(LoginSession.id == bindparam("session_id")).scalar_subquery()
        columns.append(queries_social.unread_subquery(owner))
    return (select(*columns).join(Account, Account.id == LoginSession.account_id).options(*LEAN)
            .where(LoginSession.id == bindparam("session_id")))


# Built once (the token's hash bound at execution): every signed-in request runs one; building it per request cost
# more CPU than running it. Only the statement is kept: the session row itself is read afresh every time.
_SESSION, _SESSION_AND_UNREAD = _session_select(False), _session_select(True)


async def resolve_session(ctx: Context, token: str, *, with_unread: bool = False,
                          ) -> tuple[LoginSession, Account, int] | None:
    """The login session, its account and (with_unread) the nav badge's unread-notification count, in one
    statement: the count is a scalar subquery keyed by the session's own id, so a signed-in page pays one round
    trip for all three instead of two."""
    async with ctx.reads() as session:
        query = _SESSION_AND_UNREAD if with_unread else _SESSION
        found = (await session.execute(query, {"session_id": _token_id(token)})).first()
        if found is None:
            return None
        row, account = found[0], found[1]
        if row.expires_at < utcnow() or account.status != "active":
            return None
        await queries_accounts.complete(session, [account])  # avatar, banner and move, only those it has
        return row, account, (found[2] or 0) if with_unread else 0


async def end_session(ctx: Context, token: str) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(delete(LoginSession).where(LoginSession.id == _token_id(token)))


PROFILE_LIMITS = {"display_name": 100, "bio": 5000, "location": 100}


async def update_profile(ctx: Context, account_id: int, *, display_name: str, bio: str, location: str,
                         links: list[dict[str, str]], skills: list[str], open_to_work: bool,
                         noai_default: bool, locked: bool, discoverable: bool,
                         indexable: bool | None = None, cloak_default: bool | None = None) -> Account:
    errors: dict[str, str] = {}
    for name, value in (("display_name", display_name), ("bio", bio), ("location", location)):
        if len(value) > PROFILE_LIMITS[name]:
            errors[name] = f"Keep this under {PROFILE_LIMITS[name]} characters."
    clean_links = []
    for link in links[:8]:
        url = link.get("url", "").strip()
        if not url:
            continue
        if not re.match(r"^https?://[^\s/]+", url):
            errors["links"] = f"“{url[:60]}” is not a web address starting with https://."
        clean_links.append({"name": link.get("name", "").strip()[:50] or url, "url": url[:500]})
    if errors:
        raise ValidationError(errors)
    async with ctx.transaction() as tx:
        account = await tx.session.get(Account, account_id)
        assert account is not None
        account.display_name = display_name.strip() or account.username
        account.bio = bio
        account.bio_html, account.bio_mentions = await mentions.link(ctx, tx.session, render_markdown(bio))
        account.location = location.strip()
        account.links = clean_links
        account.skills = [s.strip()[:40] for s in skills if s.strip()][:20]
        account.open_to_work = open_to_work
        account.noai_default = noai_default
        account.locked = locked
        account.discoverable = discoverable
        if indexable is not None:
            account.indexable = indexable
        if cloak_default is not None:
            account.cloak_default = cloak_default
        emit(ctx, tx, AccountUpdated(account.id))  # followers elsewhere see the change
    return account


async def create_invite(ctx: Context, created_by_id: int | None, days: int = 7) -> str:
    code = secrets.token_urlsafe(12)
    async with ctx.transaction() as tx:
        tx.session.add(Invite(code=code, created_by_id=created_by_id, expires_at=utcnow() + timedelta(days=days)))
    return code


async def set_status(ctx: Context, account_id: int, status: str, actor: Account | None = None,
                     reason: str = "") -> None:
    """An admin's decision on an account (approve, reject, suspend); written to the audit log."""
    async with ctx.transaction() as tx:
        account = await tx.session.get(Account, account_id)
        if account is None:
            raise ValidationError({"account": "No such account."})
        before, account.status = account.status, status
        audit.record(tx.session, actor, f"account.{status}", audit.account_key(account),
                     reason or f"was {before}", target_account=account)
        # A suspended account's works stop being public at once: the store/CDN's copies go (and come back).
        tx.after_commit(public_media.sync_account, ctx, account_id)


async def set_profile_image(ctx: Context, account_id: int, upload: Upload, purpose: str) -> None:
    """New avatar or banner: processed by the same pipeline; shown once its derivatives are ready."""
    if purpose not in ("avatar", "banner"):
        raise ValueError(purpose)
    content_type = check_upload(ctx, upload, purpose)
    async with ctx.transaction() as tx:
        account = await tx.session.get(Account, account_id)
        assert account is not None
        asset = await store_original(ctx, tx, account_id, upload, content_type, purpose=purpose)
        await tx.session.flush()
        setattr(account, f"{purpose}_asset_id", asset.id)


INSTANCE_ACTOR = "instance"  # reserved for people (text.RESERVED_USERNAMES), so it never collides


async def ensure_instance_actor(ctx: Context) -> Account:
    """The instance's own `Application` actor that signs our fetches; created once, on first need."""
    async with ctx.sessions() as session:
        actor = await session.scalar(select(Account).where(Account.username == INSTANCE_ACTOR,
                                                           Account.domain.is_(None)))
    if actor is not None:
        return actor
    private_pem, public_pem = generate_keys()
    try:
        async with ctx.transaction() as tx:
            actor = Account(username=INSTANCE_ACTOR, kind="application", actor_type="Application",
                            display_name=ctx.config.instance.name, locked=True, discoverable=False,
                            private_key_pem=private_pem, public_key_pem=public_pem,
                            ed25519_private_key_pem=generate_proof_key())
            tx.session.add(actor)
    except IntegrityError:  # another process created it first
        async with ctx.sessions() as session:
            actor = await session.scalar(select(Account).where(Account.username == INSTANCE_ACTOR,
                                                               Account.domain.is_(None)))
    assert actor is not None
    return actor
