"""AI-provenance review: one case per artwork that a policy held, rejected or labelled and someone questioned,
and the log of every decision on it (who, what, why, when)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account
from cara_fed.models.artworks import Artwork


class ReviewCase(Base):
    __tablename__ = "review_cases"
    __table_args__ = (Index("ix_review_cases_state_opened", "state", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"), unique=True)
    origin: Mapped[str] = mapped_column(String(16))  # local | inbound
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | decided
    reason: Mapped[str] = mapped_column(String(16))  # hold | reject | label | appeal: why it was opened
    verdict: Mapped[dict] = mapped_column(JSON, default=dict)  # protection.detect.Verdict.to_json()
    appeal_message: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    artwork: Mapped[Artwork] = relationship(lazy="joined")
    events: Mapped[list[ModerationEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin", order_by="ModerationEvent.id")


class ModerationEvent(Base):
    """The decision log: append-only."""

    __tablename__ = "moderation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("review_cases.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), default=None)
    action: Mapped[str] = mapped_column(String(32))  # held | rejected | labelled | appealed | published | ...
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[ReviewCase] = relationship(back_populates="events")
    actor: Mapped[Account | None] = relationship(lazy="joined")

    @property
    def who(self) -> str:
        return f"@{self.actor.username}" if self.actor is not None else "policy (automatic)"
