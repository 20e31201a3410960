"""What the client API (Mastodon-compatible) keeps: OAuth applications, authorization codes and tokens (secrets
stored only as SHA-256 digests), timeline read markers and Idempotency-Key replays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow


class OAuthApp(Base):
    """A client application registered with POST /api/v1/apps (anyone may register one, as on Mastodon)."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex; the secret is shown once
    name: Mapped[str] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list)
    scopes: Mapped[str] = mapped_column(String(1000), default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthCode(Base):
    """A short-lived authorization code (10 minutes, used once), bound to its app, redirect URI and PKCE
    challenge."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048), default="")
    scopes: Mapped[str] = mapped_column(String(1000), default="read")
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OAuthToken(Base):
    """An access token (and its refresh token). account_id is None for an app's own token
    (client_credentials). Revoked tokens are kept, marked, so a token value can never come back to life."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_account_app", "account_id", "app_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), default=None)
    scopes: Mapped[str] = mapped_column(String(1000), default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # None: never (Mastodon)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    app: Mapped[OAuthApp] = relationship(lazy="joined")


class Marker(Base):
    """Where an account stopped reading a timeline (home, notifications), shared between its apps."""

    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("account_id", "timeline", name="uq_markers_account_timeline"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(16))
    last_read_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A client's Idempotency-Key on a post: a retry within the hour answers the first result again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    result: Mapped[str] = mapped_column(Text)  # what the first request made, e.g. "artwork:12" or "comment:5"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

