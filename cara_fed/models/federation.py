"""Durable federation work: follows, received activities, outgoing activities and their deliveries,
and what we know about each remote instance (policy and delivery health)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account

INSTANCE_POLICIES = ("none", "silence", "suspend")


class Follow(Base):
    """follower -> followee. One row per pair; a new request after a cancel/reject replaces the old row."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("follower_id", "followee_id", name="uq_follows_pair"),
                      Index("ix_follows_followee_state", "followee_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    followee_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="requested")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # the Follow activity id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    follower: Mapped[Account] = relationship(foreign_keys=[follower_id], lazy="joined")
    followee: Mapped[Account] = relationship(foreign_keys=[followee_id], lazy="joined")


class InboxItem(Base):
    """A received activity, stored before we answer 202; processed by the inbox worker."""

    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("activity_id", "recipient", name="uq_inbox_activity_recipient"),
                      Index("ix_inbox_items_state_changed", "state", "state_changed_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(2048))
    recipient: Mapped[str] = mapped_column(String(64))  # "shared" or the local account id
    actor_uri: Mapped[str] = mapped_column(String(2048))
    activity_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="received")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutgoingActivity(Base):
    """An activity we send, serialized once; each recipient inbox gets a Delivery row."""

    __tablename__ = "outgoing_activities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    activity_type: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    artwork_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)  # kept after a delete
    body: Mapped[str] = mapped_column(Text)  # the exact JSON we sign and send
    # The id of the request that caused it (cara_fed/request_context.py): sent as X-Request-Id with every
    # delivery and logged with each outcome, retries included.
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("activity_id", "inbox_url", name="uq_delivery_activity_inbox"),
                      Index("ix_deliveries_state_next", "state", "next_attempt_at"),
                      Index("ix_deliveries_domain_state", "domain", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("outgoing_activities.id", ondelete="CASCADE"))
    inbox_url: Mapped[str] = mapped_column(String(2048))
    domain: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    activity: Mapped[OutgoingActivity] = relationship(lazy="joined")


class Instance(Base):
    """A remote server: the admin's policy for it and its delivery health (circuit breaker)."""

    __tablename__ = "instances"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    policy: Mapped[str] = mapped_column(String(16), default="none")  # none | silence | suspend
    allowed: Mapped[bool] = mapped_column(Boolean, default=False)  # for allowlist mode
    reason: Mapped[str] = mapped_column(Text, default="")
    software: Mapped[str | None] = mapped_column(String(64), default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    info: Mapped[dict] = mapped_column(JSON, default=dict)
