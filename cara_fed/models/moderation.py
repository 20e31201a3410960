"""Instance rules that admins write: shown at sign-up, on /about and to Mastodon apps (issue 18)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
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
