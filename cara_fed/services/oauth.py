"""OAuth 2 state for client apps: applications, authorization codes and access/refresh tokens.

Secrets (client secrets, codes, tokens) are random and stored only as SHA-256 digests, like login sessions: a
database leak reveals no usable credential. Scopes follow Mastodon's: `read`, `write`, `follow`, `push`,
`profile` and the granular `read:statuses`, `write:media`, … (a parent scope grants its children). The HTTP side
of the protocol (Authlib's grants, the consent page) lives in web/api/; this module is the only writer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.errors import ValidationError
from cara_fed.models import Account, OAuthApp, OAuthCode, OAuthToken

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
LAST_USED_EVERY = timedelta(hours=1)  # how stale `last_used_at` may get (no write on every request)
GRANULAR = {
    "read": ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
             "notifications", "search", "statuses"),
    "write": ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
              "media", "mutes", "notifications", "reports", "statuses"),
}
# `follow` is Mastodon's old bundle for the social graph.
FOLLOW_BUNDLE = frozenset({"read:follows", "read:blocks", "read:mutes", "write:follows", "write:blocks",
                           "write:mutes"})
ADMIN = frozenset({"admin:read", "admin:write"} | {f"admin:{mode}:{what}" for mode in ("read", "write") for what in (
    "accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks",
    "canonical_email_blocks")})  # accepted so apps asking for them still register; they grant nothing here
KNOWN_SCOPES = frozenset({"read", "write", "follow", "push", "profile"}
                         | {f"{mode}:{what}" for mode, whats in GRANULAR.items() for what in whats}) | ADMIN
FORBIDDEN_SCHEMES = {"javascript", "data", "vbscript", "file"}
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_list(scopes: str | None) -> list[str]:
    return list(dict.fromkeys((scopes or "").replace("+", " ").split()))


def allows(granted: str | list[str], required: str) -> bool:
    """Whether a token with `granted` scopes may do what needs `required` (e.g. "read:statuses")."""
    have = set(scope_list(granted) if isinstance(granted, str) else granted)
    if required in have:
        return True
    parent = required.split(":", 1)[0]
    if ":" in required and parent in ("read", "write") and parent in have:
        return True
    return "follow" in have and required in FOLLOW_BUNDLE


def check_scopes(raw: str | None, allowed: str | None = None) -> str:
    """Normalised scope string; unknown scopes, or scopes beyond `allowed` (the app's), are refused."""
    scopes = scope_list(raw) or ["read"]
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(unknown)}."})
    if allowed is not None:
        beyond = [s for s in scopes if s not in scope_list(allowed)]
        if beyond:
            raise ValidationError({"scopes": f"The app did not register the scope {', '.join(beyond)}."})
    return " ".join(scopes)


def check_redirect_uris(raw: str | list[str]) -> list[str]:
    """One or more redirect URIs: `urn:ietf:wg:oauth:2.0:oob`, http(s) URLs or an app's own scheme
    (`myapp://callback`); never javascript:, data: and the like."""
    uris = raw if isinstance(raw, list) else re.split(r"[\s]+", raw or "")
    uris = [u.strip() for u in uris if u and u.strip()]
    if not uris:
        raise ValidationError({"redirect_uris": "Give at least one redirect URI (or urn:ietf:wg:oauth:2.0:oob)."})
    for uri in uris:
        if uri == OOB:
            continue
        parts = urlsplit(uri)
        if len(uri) > 2000 or not parts.scheme or not SCHEME_RE.match(parts.scheme) or "#" in uri:
            raise ValidationError({"redirect_uris": f"“{uri[:80]}” is not a valid redirect URI."})
        if parts.scheme.lower() in FORBIDDEN_SCHEMES:
            raise ValidationError({"redirect_uris": f"Redirect URIs cannot use the {parts.scheme}: scheme."})
        if parts.scheme.lower() in ("http", "https") and not parts.netloc:
            raise ValidationError({"redirect_uris": f"“{uri[:80]}” has no host."})
    return list(dict.fromkeys(uris))[:10]


async def create_app(ctx: Context, name: str, redirect_uris: str | list[str], scopes: str | None = None,
                     website: str | None = None) -> tuple[OAuthApp, str]:
    """Register a client app. Returns (app, client secret): the secret is shown to the app this once."""
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["client_name"] = "Give the app a name."
    elif len(name) > 100:
        errors["client_name"] = "Keep the app name under 100 characters."
    if website and (len(website) > 500 or not website.startswith(("https://", "http://"))):
        errors["website"] = "The website must be an http(s) address."
    if errors:
        raise ValidationError(errors)
    uris = check_redirect_uris(redirect_uris)
    normalised = check_scopes(scopes)
    secret = secrets.token_urlsafe(32)
    async with ctx.transaction(changes_pages=False) as tx:
        app = OAuthApp(client_id=secrets.token_urlsafe(32), client_secret_hash=digest(secret), name=name,
                       website=website or None, redirect_uris=uris, scopes=normalised)
        tx.session.add(app)
    return app, secret


async def app_by_client_id(ctx: Context, client_id: str) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    async with ctx.sessions() as session:
        return await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))


async def save_code(ctx: Context, app: OAuthApp, account: Account, code: str, redirect_uri: str, scopes: str,
                    challenge: str | None, method: str | None) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        tx.session.add(OAuthCode(code_hash=digest(code), app_id=app.id, account_id=account.id,
                                 redirect_uri=redirect_uri, scopes=scopes, code_challenge=challenge or None,
                                 code_challenge_method=method or None, expires_at=utcnow() + CODE_LIFETIME))


async def find_code(ctx: Context, code: str, app: OAuthApp) -> OAuthCode | None:
    async with ctx.sessions() as session:
        row = await session.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code),
                                                           OAuthCode.app_id == app.id))
    return row if row is not None and row.expires_at > utcnow() else None


async def use_code(ctx: Context, code_id: int) -> None:
    """A code works once."""
    async with ctx.transaction(changes_pages=False) as tx:
        row = await tx.session.get(OAuthCode, code_id)
        if row is not None:
            await tx.session.delete(row)


@dataclass(frozen=True)
class Issued:
    access_token: str
    refresh_token: str | None
    row: OAuthToken


async def issue_token(ctx: Context, app: OAuthApp, account_id: int | None, scopes: str, *,
                      refresh: bool) -> Issued:
    days = ctx.config.api.access_token_days
    access = secrets.token_urlsafe(32)
    refresh_token = secrets.token_urlsafe(32) if refresh else None
    async with ctx.transaction(changes_pages=False) as tx:
        row = OAuthToken(token_hash=digest(access), refresh_hash=digest(refresh_token) if refresh_token else None,
                         app_id=app.id, account_id=account_id, scopes=scopes,
                         expires_at=utcnow() + timedelta(days=days) if days else None)
        tx.session.add(row)
        # Housekeeping: codes nobody used.
        codes = await tx.session.scalars(select(OAuthCode).where(OAuthCode.expires_at < utcnow()).limit(100))
        for code in codes:
            await tx.session.delete(code)
    row.app = app
    return Issued(access, refresh_token, row)


async def find_token(ctx: Context, raw: str, kind: str | None = None) -> OAuthToken | None:
    """An unrevoked token by its access (or, kind="refresh_token", refresh) value."""
    if not raw or len(raw) > 512:
        return None
    hashed = digest(raw)
    clause = {"access_token": OAuthToken.token_hash == hashed, "refresh_token": OAuthToken.refresh_hash == hashed}
    where = clause.get(kind or "") if kind else (OAuthToken.token_hash == hashed) | (OAuthToken.refresh_hash == hashed)
    async with ctx.sessions() as session:
        token = await session.scalar(select(OAuthToken).where(where))
    return token if token is not None and token.revoked_at is None else None


async def revoke(ctx: Context, token_id: int) -> None:
    forget_bearers()
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(update(OAuthToken).where(OAuthToken.id == token_id, OAuthToken.revoked_at.is_(None))
                                 .values(revoked_at=utcnow()))


@dataclass(frozen=True)
class Bearer:
    """Who a request's access token speaks for (account None: the app itself), with what scopes."""

    token_id: int
    app: OAuthApp
    account: Account | None
    scopes: tuple[str, ...]

    def allows(self, required: str) -> bool:
        return allows(list(self.scopes), required)


class TokenRefused(Exception):
    """The token is unknown, revoked or expired, or its account cannot act: the message says which."""


# Resolved tokens, briefly: every API request needs one, and the lookup is a database round trip. A revocation
# in this process clears it at once; in other web processes a revoked token works for at most BEARER_TTL more
# seconds (expiry itself is checked on every request).
BEARER_TTL = 10.0
_bearers: dict[str, tuple[float, Bearer, datetime | None]] = {}


def forget_bearers() -> None:
    _bearers.clear()


async def resolve_bearer(ctx: Context, raw: str) -> Bearer:
    """The hot path of every API request: one indexed lookup (token + app + account), then cached briefly."""
    if not raw or len(raw) > 512:
        raise TokenRefused("The access token is invalid")
    hashed = digest(raw)
    hit = _bearers.get(hashed)
    if hit is not None and hit[0] > time.monotonic():
        if hit[2] is not None and hit[2] <= utcnow():
            raise TokenRefused("The access token expired")
        return hit[1]
    async with ctx.reads() as session:
        found = (await session.execute(
            select(OAuthToken, Account).outerjoin(Account, Account.id == OAuthToken.account_id)
            .where(OAuthToken.token_hash == hashed))).first()
        if found is None:
            raise TokenRefused("The access token is invalid")
        token, account = found
        now = utcnow()
        if token.revoked_at is not None:
            raise TokenRefused("The access token was revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise TokenRefused("The access token expired")
        if account is not None and account.status != "active":
            raise TokenRefused("Your login is currently pending approval" if account.status == "pending"
                               else "Your login is currently disabled")
        bearer = Bearer(token.id, token.app, account, tuple(scope_list(token.scopes)))
        stale = token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY
    if len(_bearers) > 10_000:
        _bearers.clear()
    _bearers[hashed] = (time.monotonic() + BEARER_TTL, bearer, token.expires_at)
    if stale:
        async with ctx.transaction(changes_pages=False) as tx:
            await tx.session.execute(update(OAuthToken).where(OAuthToken.id == token.id).values(last_used_at=now))
    return bearer


# --- the "Authorized apps" settings page -----------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizedApp:
    app: OAuthApp
    scopes: list[str]
    tokens: int
    first_authorized_at: object
    last_used_at: object


async def authorized_apps(session: AsyncSession, account: Account) -> list[AuthorizedApp]:
    """Apps holding live tokens for the account, with the union of their scopes and when last used."""
    rows = (await session.execute(
        select(OAuthToken).where(OAuthToken.account_id == account.id, OAuthToken.revoked_at.is_(None),
                                 (OAuthToken.expires_at.is_(None)) | (OAuthToken.expires_at > utcnow()))
        .order_by(OAuthToken.id))).unique().scalars().all()
    grouped: dict[int, list[OAuthToken]] = {}
    for token in rows:
        grouped.setdefault(token.app_id, []).append(token)
    apps = []
    for tokens in grouped.values():
        scopes = list(dict.fromkeys(s for t in tokens for s in scope_list(t.scopes)))
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        apps.append(AuthorizedApp(tokens[0].app, scopes, len(tokens), tokens[0].created_at,
                                  max(used) if used else None))
    return sorted(apps, key=lambda a: a.app.name.lower())


async def revoke_app(ctx: Context, account: Account, app_id: int) -> int:
    """Revoke every token the account gave this app. Returns how many."""
    forget_bearers()
    async with ctx.transaction(changes_pages=False) as tx:
        result = await tx.session.execute(update(OAuthToken).where(
            OAuthToken.account_id == account.id, OAuthToken.app_id == app_id, OAuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow()))
    return result.rowcount or 0
