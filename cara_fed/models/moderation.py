"""Instance rules that admins write (shown at sign-up, on /about and to Mastodon apps) and the moderation audit
log (issue 18)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cara_fed.db import Base, UTCDateTime, utcnow


class InstanceRule(Base):
    """One rule; `position` orders the list (gaps allowed, ties broken by id)."""

    __tablename__ = "instance_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
    hint: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """One moderation action: who did what to which target, and why. Append-only; `target` is a readable key
    (`@user`, `@user@domain`, `example.social`, `artwork:12`) that the admin log filters on exactly."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_id", "target", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), default=None)
    actor_name: Mapped[str] = mapped_column(String(64), default="")  # kept if the actor's account goes
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    target_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"),
                                                          default=None, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The affected artist's one appeal: state "" (none) | pending | upheld | reversed.
    appeal_state: Mapped[str] = mapped_column(String(16), default="", index=True)
    appeal_text: Mapped[str] = mapped_column(Text, default="")
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    appeal_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"),
                                                             default=None)
    appeal_note: Mapped[str] = mapped_column(Text, default="")
    appeal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
