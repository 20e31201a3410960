"""Artworks (1..N images), their tags, portfolio projects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account
from cara_fed.models.media import MediaAsset

# As PostgreSQL prints it back, so migrations and models compare equal (title and description are NOT NULL).
SEARCH_VECTOR = "to_tsvector('simple'::regconfig, (title::text || ' '::text) || description)"
VISIBILITIES = ("public", "unlisted", "followers")
ALL_RIGHTS_RESERVED = "all-rights-reserved"


class Artwork(Base):
    __tablename__ = "artworks"
    __table_args__ = (
        Index("ix_artworks_account_published", "account_id", "published_at"),
        Index("ix_artworks_state_visibility_published", "state", "visibility", "published_at"),
        # Full-text search (PostgreSQL only; SQLite searches with LIKE). queries_discovery builds the same expression.
        Index("ix_artworks_search", text(SEARCH_VECTOR),
              postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="processing")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown source
    description_html: Mapped[str] = mapped_column(Text, default="")  # sanitized
    field: Mapped[str] = mapped_column(String(64), default="")
    medium: Mapped[str] = mapped_column(String(64), default="")
    software: Mapped[list] = mapped_column(JSON, default=list)
    content_warning: Mapped[str] = mapped_column(String(500), default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    license: Mapped[str] = mapped_column(String(255), default=ALL_RIGHTS_RESERVED)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    noai: Mapped[bool] = mapped_column(Boolean, default=True)
    # AI-provenance label shown and federated: None | "ai_generated" | "ai_assisted"; and who set it:
    # "detection" (policy), "moderator", "remote" (the origin server's label).
    ai_label: Mapped[str | None] = mapped_column(String(16), default=None)
    ai_label_by: Mapped[str | None] = mapped_column(String(16), default=None)
    # Cloaking: `cloak` = the artist asked for it (local works); `cloaked` = what the served files carry,
    # {"engine": ..., "version": ...}: set when a local work's cloaked images are ready, or read from a
    # remote work's Note (cara:cloaked), whose pixels we then keep as sent.
    cloak: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    cloaked: Mapped[dict | None] = mapped_column(JSON, default=None)
    comment_policy: Mapped[str] = mapped_column(String(16), default="everyone", server_default="everyone")
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # remote artworks
    url: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set only when the artist changes what the work shows (services.edits.mark_edited); AS2 `updated`.
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Accounts @mentioned in the description, resolved when it was saved (services/mentions.py):
    # [{"href": actor id, "name": "@name@domain", "url": profile page, "account_id"}]: the Note's Mention tags
    # and the client API's `mentions`.
    mentions: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # Recreated from a portfolio archive (services/archive_import.py): shown with its original dates, but never
    # announced to followers as a new post (no Create is delivered when it settles).
    import_id: Mapped[int | None] = mapped_column(ForeignKey("data_imports.id", ondelete="SET NULL"), default=None,
                                                  index=True)

    account: Mapped[Account] = relationship(lazy="joined")
    images: Mapped[list[ArtworkImage]] = relationship(
        back_populates="artwork", cascade="all, delete-orphan", lazy="selectin", order_by="ArtworkImage.position")
    tags: Mapped[list[ArtworkTag]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                  order_by="ArtworkTag.tag")

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    @property
    def cover(self) -> ArtworkImage | None:
        return self.images[0] if self.images else None


class ArtworkImage(Base):
    __tablename__ = "artwork_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt_text: Mapped[str] = mapped_column(Text, default="")

    artwork: Mapped[Artwork] = relationship(back_populates="images")
    asset: Mapped[MediaAsset] = relationship(lazy="selectin")


class ArtworkEdit(Base):
    """A version of a work that an edit replaced (Mastodon's edit history): what it showed from `created_at`
    until the next version. Kept from the first edit after this table existed; older versions are unknown."""

    __tablename__ = "artwork_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(200))
    description_html: Mapped[str] = mapped_column(Text, default="")
    content_warning: Mapped[str] = mapped_column(String(500), default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    media: Mapped[list] = mapped_column(JSON, default=list)  # [{"asset_id": ..., "alt": ...}] in order


class ArtworkTag(Base):
    __tablename__ = "artwork_tags"
    __table_args__ = (Index("ix_artwork_tags_tag_artwork", "tag", "artwork_id"),)  # tag pages, followed tags

    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)  # normalised lowercase


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    cover_artwork_id: Mapped[int | None] = mapped_column(ForeignKey("artworks.id", ondelete="SET NULL"),
                                                         default=None)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[ProjectItem]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                    order_by="ProjectItem.position")


class ProjectItem(Base):
    __tablename__ = "project_items"
    __table_args__ = (UniqueConstraint("project_id", "artwork_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
