"""Accounts (local artists and studios, and later remote actors), login sessions, invites."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.media import MediaAsset

ACCOUNT_KINDS = ("artist", "studio")  # "application" is the instance actor, never a sign-up choice
ACCOUNT_STATUSES = ("active", "pending", "suspended")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("username", "domain", name="uq_accounts_username_domain"),
                      # The constraint above lets local accounts (domain NULL) share a name: NULLs are distinct.
                      Index("uq_accounts_local_username", "username", unique=True,
                            sqlite_where=text("domain IS NULL"), postgresql_where=text("domain IS NULL")),
                      UniqueConstraint("key_id", name="uq_accounts_key_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))  # stored lowercase
    domain: Mapped[str | None] = mapped_column(String(255), default=None)  # None = local
    kind: Mapped[str] = mapped_column(String(16), default="artist")
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(320), unique=True, default=None)  # stored lowercase
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    # Set when the owner followed the link mailed to `email` (or an admin tool created the account).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Two-factor (services/two_factor.py): the TOTP secret is set at enrolment and counts once confirmed
    # (totp_enabled_at); the last accepted time step refuses a code replayed within its 30 seconds.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)

    display_name: Mapped[str] = mapped_column(String(100), default="")
    bio: Mapped[str] = mapped_column(Text, default="")  # Markdown source
    bio_html: Mapped[str] = mapped_column(Text, default="")  # sanitized
    bio_mentions: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # as Artwork.mentions
    location: Mapped[str] = mapped_column(String(100), default="")
    links: Mapped[list] = mapped_column(JSON, default=list)  # [{"name": ..., "url": ...}]
    skills: Mapped[list] = mapped_column(JSON, default=list)
    open_to_work: Mapped[bool] = mapped_column(Boolean, default=False)
    avatar_asset_id: Mapped[int | None] = mapped_column(ForeignKey(
        "media_assets.id", use_alter=True, ondelete="SET NULL", name="fk_accounts_avatar_asset"), default=None)
    banner_asset_id: Mapped[int | None] = mapped_column(ForeignKey(
        "media_assets.id", use_alter=True, ondelete="SET NULL", name="fk_accounts_banner_asset"), default=None)
    noai_default: Mapped[bool] = mapped_column(Boolean, default=True)
    # Cloak new uploads (protection/cloak): off until the artist opts in.
    cloak_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    locked: Mapped[bool] = mapped_column(Boolean, default=False)  # manuallyApprovesFollowers
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Works may appear in search, explore and tag pages (Mastodon's `indexable`); off keeps them on the profile only.
    indexable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    request_note: Mapped[str] = mapped_column(Text, default="")  # why they want to join (approval mode)

    # Federation: keys for local accounts; URIs and inboxes for remote ones.
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    inbox_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    shared_inbox_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    public_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    private_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    key_id: Mapped[str | None] = mapped_column(String(2048), default=None)  # remote publicKey.id
    # FEP-8b32 object integrity proofs: a local account's Ed25519 key (its Multikey is `#ed25519-key` in the
    # actor's assertionMethod); a remote actor's Multikeys from its assertionMethod, {key id: publicKeyMultibase}.
    ed25519_private_key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    assertion_keys: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    url: Mapped[str | None] = mapped_column(String(2048), default=None)  # remote profile page
    followers_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    actor_type: Mapped[str] = mapped_column(String(32), default="Person", server_default="Person")
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    remote_avatar_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    remote_banner_url: Mapped[str | None] = mapped_column(String(2048), default=None)

    # Moving (services/moves.py): the actor URIs this account also goes by (`alsoKnownAs`: for a local account
    # the aliases its owner added, so an old account elsewhere may move here), and where it went (`movedTo`:
    # ours after a move; a remote actor's after its Move reached us).
    also_known_as: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey(
        "accounts.id", use_alter=True, ondelete="SET NULL", name="fk_accounts_moved_to"), default=None)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # Deletion (services/account_deletion.py): while deletion_due_at is set the account is suspended and may be
    # restored; `deletion_by` says who asked ("self" or "admin"). Once done, deleted_at marks the tombstone that
    # keeps the username reserved and the actor key for the Delete we sign.
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    deletion_by: Mapped[str | None] = mapped_column(String(16), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    avatar_asset: Mapped[MediaAsset | None] = relationship(foreign_keys=[avatar_asset_id], lazy="selectin",
                                                           post_update=True)
    banner_asset: Mapped[MediaAsset | None] = relationship(foreign_keys=[banner_asset_id], lazy="selectin",
                                                           post_update=True)
    moved_to: Mapped[Account | None] = relationship(foreign_keys=[moved_to_id], remote_side=[id], lazy="selectin",
                                                    post_update=True, join_depth=1)

    @property
    def is_local(self) -> bool:
        return self.domain is None

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def moved_target(self) -> Account | None:
        """The account this one moved to, if it was loaded along with this one (eagerly, see `moved_to`). Never
        a lazy load: accounts are often read after their session closed (a nested one's own move reads None)."""
        return self.__dict__.get("moved_to") if self.moved_to_id is not None else None


class LoginSession(Base):
    """A browser login. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie token
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # each login deletes expired ones


class LoginFailure(Base):
    """Failed logins, counted per key (address, account) in a sliding window for rate limiting."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # old ones deleted


class Invite(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


TOKEN_PURPOSES = ("verify", "reset", "email")


class AccountToken(Base):
    """A single-use link mailed to an account: address verification, password reset or email change. Only the
    token's SHA-256 is stored; `email` is the address the link confirms (verify, email change)."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RecoveryCode(Base):
    """A one-time two-factor recovery code; only its SHA-256 is stored (the codes carry 80 random bits)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class OutgoingMail(Base):
    """An email waiting for the SMTP server (services/mail.py). The body (it may hold a link) is blanked once the
    mail is sent or given up."""

    __tablename__ = "outgoing_mails"
    __table_args__ = (Index("ix_outgoing_mails_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A mailing an account may leave with one click (the daily digest): sent as List-Unsubscribe (RFC 8058).
    unsubscribe_url: Mapped[str | None] = mapped_column(String(2048), default=None)


class MailDigest(Base):
    """An account's opt-in to the daily digest email (services/mail_digest.py); no row = off (the default).
    `key` signs the one-click unsubscribe link (a new one at each opt-in, so old links stop working)."""

    __tablename__ = "mail_digests"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # the last digest mailed
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # once a day, sent or not
