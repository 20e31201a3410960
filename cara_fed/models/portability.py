"""An account's data leaving and arriving (issue 18): portfolio archives being built, and imports (a Mastodon
following CSV, a cara-fed portfolio archive) being worked through in the background."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cara_fed.db import Base, UTCDateTime, utcnow


class DataExport(Base):
    """A portfolio archive: queued -> building -> ready (downloadable until expires_at) | failed."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done: Mapped[int] = mapped_column(Integer, default=0)  # works written so far (the page shows progress)
    total: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(128), default=None)  # under <data_dir>/exports
    size: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)


class DataImport(Base):
    """kind "following" (payload: the handles) or "archive" (payload: the checked archive's file and works).
    queued -> running -> done | failed; `failures` lists what could not be done ([{"item", "reason"}])."""

    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    failures: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
