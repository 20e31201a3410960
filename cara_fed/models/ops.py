"""Operations bookkeeping: which scheduler claimed which run of a periodic job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from cara_fed.db import Base, UTCDateTime, utcnow


class ScheduledRun(Base):
    """One row per periodic job and time slot: the primary key lets exactly one scheduler claim a slot,
    however many run (INSERT ... ON CONFLICT DO NOTHING; whoever inserted runs it)."""

    __tablename__ = "scheduled_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
