"""The social layer on artworks: likes, boosts (Announce), bookmarks and comments (threaded replies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account

COMMENT_POLICIES = {"everyone": "Everyone", "followers": "Followers only", "off": "Nobody (comments off)"}
COMMENT_STATES = ("visible", "rejected")  # rejected: a remote reply the artwork's comment setting refused


class Like(Base):
    """One per account and artwork. `uri` is the Like activity's id (ours for local likers, theirs for remote)."""

    __tablename__ = "likes"
    __table_args__ = (UniqueConstraint("account_id", "artwork_id", name="uq_likes_account_artwork"),
                      Index("ix_likes_artwork", "artwork_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")


class Boost(Base):
    """An Announce of an artwork, one per account and artwork."""

    __tablename__ = "boosts"
    __table_args__ = (UniqueConstraint("account_id", "artwork_id", name="uq_boosts_account_artwork"),
                      Index("ix_boosts_artwork", "artwork_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")


class Bookmark(Base):
    """Private to the local account that saved it; never federated."""

    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "artwork_id", name="uq_bookmarks_account_artwork"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """A comment on an artwork, or a reply to another comment (parent_id). Local and remote alike have a
    `uri` (the Note's id); `content_html` is sanitized (ours is built from escaped text, theirs cleaned)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_artwork_state", "artwork_id", "state", "id"),
                      Index("ix_comments_account_created", "account_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artwork_id: Mapped[int] = mapped_column(ForeignKey("artworks.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), default=None)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)
    url: Mapped[str | None] = mapped_column(String(2048), default=None)  # remote comments' page
    content: Mapped[str] = mapped_column(Text, default="")  # the local author's plain text
    content_html: Mapped[str] = mapped_column(Text, default="")
    mentions: Mapped[list] = mapped_column(JSON, default=list)  # actor URIs mentioned
    tags: Mapped[list] = mapped_column(JSON, default=list)  # hashtags, normalised
    state: Mapped[str] = mapped_column(String(16), default="visible")
    reason: Mapped[str] = mapped_column(String(200), default="")  # why a remote reply was rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship(lazy="joined")
