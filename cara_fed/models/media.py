"""Media assets: a private original plus public derivatives made by the protection pipeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow


class MediaAsset(Base):
    __tablename__ = "media_assets"
    __table_args__ = (Index("ix_media_assets_state_changed", "state", "state_changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="uploaded")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purpose: Mapped[str] = mapped_column(String(16), default="artwork")  # artwork | avatar | banner
    original_key: Mapped[str | None] = mapped_column(String(255), default=None)  # private storage key
    original_type: Mapped[str] = mapped_column(String(64), default="")
    original_size: Mapped[int] = mapped_column(Integer, default=0)
    original_name: Mapped[str] = mapped_column(String(255), default="")
    # Alt text given with a client-API upload before the image joins an artwork (then ArtworkImage.alt_text).
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    remote_url: Mapped[str | None] = mapped_column(String(2048), default=None)  # inbound federated media
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    blurhash: Mapped[str | None] = mapped_column(String(100), default=None)
    focal_x: Mapped[float] = mapped_column(Float, default=0.0)
    focal_y: Mapped[float] = mapped_column(Float, default=0.0)
    # Set by the artist (edit page) or a client app (Mastodon API `focus`): processing and re-stamping keep it
    # instead of the pipeline's automatic point.
    focal_chosen: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # processing attempts
    # Remote media: fetches tried so far, and when the sweep may try again (exponential back-off).
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)  # the worker processing it
    # While cloaking: percent done and estimated seconds left (the status page polls them).
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    eta_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    verdict: Mapped[dict | None] = mapped_column(JSON, default=None)  # AI-provenance detection on the original
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Remote media only: when one of its files was last served (coarse: written at most once an hour), and when
    # retention deleted its files for lack of views (rows and URLs stay; the next view fetches it again).
    last_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    evicted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    derivatives: Mapped[list[MediaDerivative]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", lazy="selectin",
        order_by="MediaDerivative.long_edge.desc()")

    def best(self, long_edge: int, fmt: str = "jpeg") -> MediaDerivative | None:
        """The smallest derivative at least `long_edge` wide, else the largest there is."""
        candidates = sorted((d for d in self.derivatives if d.format == fmt), key=lambda d: d.long_edge)
        for derivative in candidates:
            if derivative.long_edge >= long_edge:
                return derivative
        return candidates[-1] if candidates else None


class MediaDerivative(Base):
    __tablename__ = "media_derivatives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"), index=True)
    long_edge: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(255), unique=True)  # public storage key (content-addressed)
    # A copy in the store's `published` area, served by the store/CDN at [storage] public_base_url: None = none,
    # else "noai" or "plain" (the headers it was written with). Only a published public/unlisted local work's
    # files get one (cara_fed/services/public_media.py); a changed key starts with none.
    public_copy: Mapped[str | None] = mapped_column(String(8), default=None)

    asset: Mapped[MediaAsset] = relationship(back_populates="derivatives")


class RetiredMedia(Base):
    """A public file replaced by a re-stamp or re-cloak. Pages, caches and followers' servers may still name
    its URL for a while, so it keeps being served (with its asset's current access and NoAI headers) until
    `delete_after`; retention then deletes the file. A deleted asset leaves asset_id NULL: served to nobody,
    deleted on the next run."""

    __tablename__ = "retired_media"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # public storage key
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("media_assets.id", ondelete="SET NULL"), index=True,
                                                 default=None)
    delete_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
