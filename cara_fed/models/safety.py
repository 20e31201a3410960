"""Safety between accounts: blocks, mutes, and reports to the moderators (local or received as a Flag)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account

REPORT_STATES = ("open", "resolved", "dismissed")


class Block(Base):
    """account blocks target. Local blockers federate it as Block; a remote blocker's Block is recorded too,
    so that its target here cannot follow back."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_id", name="uq_blocks_pair"),
                      Index("ix_blocks_target", "target_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # the Block activity id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Account] = relationship(foreign_keys=[target_id], lazy="joined")


class Mute(Base):
    """account no longer sees target's works in its home feed and explore. Local only, never federated."""

    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_id", name="uq_mutes_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    target: Mapped[Account] = relationship(foreign_keys=[target_id], lazy="joined")


class Report(Base):
    """A report to this instance's moderators: by a local account, or a Flag from another server
    (reporter = that server's actor). The decision (who, what, when, note) is kept on the row."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_state_created", "state", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))  # local | inbound
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), default=None)
    target_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    artwork_id: Mapped[int | None] = mapped_column(ForeignKey("artworks.id", ondelete="SET NULL"), default=None)
    object_uris: Mapped[list] = mapped_column(JSON, default=list)  # what the Flag named (or we sent)
    reason: Mapped[str] = mapped_column(Text, default="")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # the Flag's id
    forwarded: Mapped[bool] = mapped_column(default=False)  # a Flag was sent to the remote server
    state: Mapped[str] = mapped_column(String(16), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), default=None)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    reporter: Mapped[Account | None] = relationship(foreign_keys=[reporter_id], lazy="joined")
    target: Mapped[Account] = relationship(foreign_keys=[target_id], lazy="joined")
    decided_by: Mapped[Account | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
