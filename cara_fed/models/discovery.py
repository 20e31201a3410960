"""Discovery: the tags an account follows (their public works join its home feed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cara_fed.db import Base, UTCDateTime, utcnow


class TagFollow(Base):
    __tablename__ = "tag_follows"
    __table_args__ = (UniqueConstraint("account_id", "tag", name="uq_tag_follows_account_tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(100))  # normalised like ArtworkTag.tag
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
