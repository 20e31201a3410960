"""Job board: job posts (local and federated), their images, in-app applications, and notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cara_fed.db import Base, UTCDateTime, utcnow
from cara_fed.models.accounts import Account
from cara_fed.models.media import MediaAsset

EMPLOYMENT_TYPES = {"full-time": "Full-time", "part-time": "Part-time", "contract": "Contract",
                    "freelance": "Freelance", "internship": "Internship"}
WORKPLACES = {"onsite": "On-site", "hybrid": "Hybrid", "remote": "Remote"}
PAY_PERIODS = {"hour": "per hour", "day": "per day", "week": "per week", "month": "per month", "year": "per year",
               "project": "per project"}
APPLY_METHODS = {"inapp": "Apply here", "url": "Apply on a website", "email": "Apply by email"}
JOB_STATUSES = ("open", "closed")
APPLICATION_STATUSES = ("new", "shortlisted", "declined")


class JobPost(Base):
    __tablename__ = "job_posts"
    __table_args__ = (Index("ix_job_posts_status_deadline", "status", "deadline"),
                      Index("ix_job_posts_account_created", "account_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # remote jobs only
    url: Mapped[str | None] = mapped_column(String(2048), default=None)  # remote jobs' page
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown source (local)
    description_html: Mapped[str] = mapped_column(Text, default="")  # sanitized
    field: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(100), default="")
    employment_type: Mapped[str] = mapped_column(String(16), default="full-time")
    location: Mapped[str] = mapped_column(String(200), default="")
    workplace: Mapped[str] = mapped_column(String(16), default="onsite")  # onsite | hybrid | remote
    pay_min: Mapped[int | None] = mapped_column(Integer, default=None)
    pay_max: Mapped[int | None] = mapped_column(Integer, default=None)
    currency: Mapped[str] = mapped_column(String(3), default="")
    pay_period: Mapped[str] = mapped_column(String(8), default="")
    skills: Mapped[list] = mapped_column(JSON, default=list)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    apply_method: Mapped[str] = mapped_column(String(8), default="inapp")  # inapp | url | email
    apply_url: Mapped[str] = mapped_column(String(2048), default="")
    apply_email: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed (expiry: by deadline)
    search_text: Mapped[str] = mapped_column(Text, default="")  # lowercase words for the board's search
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    account: Mapped[Account] = relationship(lazy="joined")
    images: Mapped[list[JobImage]] = relationship(cascade="all, delete-orphan", lazy="selectin",
                                                  order_by="JobImage.position")

    @property
    def is_local(self) -> bool:
        return self.uri is None

    def is_open(self, now: datetime | None = None) -> bool:
        """Open, and not past its deadline (expiry needs no job: it is read off the clock)."""
        return self.status == "open" and (self.deadline is None or self.deadline > (now or utcnow()))

    @property
    def state_label(self) -> str:
        if self.status == "closed":
            return "Closed"
        return "Open" if self.is_open() else "Expired"


class JobImage(Base):
    __tablename__ = "job_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job_posts.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    alt_text: Mapped[str] = mapped_column(Text, default="")

    asset: Mapped[MediaAsset] = relationship(lazy="selectin")


class JobApplication(Base):
    """An artist's application to a job: local (both sides here) or received from / sent to another server."""

    __tablename__ = "job_applications"
    __table_args__ = (UniqueConstraint("job_id", "applicant_id", name="uq_job_applications_job_applicant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job_posts.id", ondelete="CASCADE"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")  # plain text
    works: Mapped[list] = mapped_column(JSON, default=list)  # [{"url": ..., "title": ...}] chosen portfolio works
    status: Mapped[str] = mapped_column(String(16), default="new")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True, default=None)  # the AP message id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    job: Mapped[JobPost] = relationship(lazy="joined")
    applicant: Mapped[Account] = relationship(lazy="joined")


class Notification(Base):
    """Something happened that an account should know about. Generic: `kind` says what, the object
    reference (type + id, or a URI for remote things) says about which row."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_account_read", "account_id", "read_at"),
                      Index("ix_notifications_account_created", "account_id", "created_at"),  # the page's order
                      Index("ix_notifications_account_id", "account_id", "id"))  # keyset on id (social layer)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), default=None)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[int | None] = mapped_column(Integer, default=None)
    object_uri: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    actor: Mapped[Account | None] = relationship(foreign_keys=[actor_id], lazy="joined")
