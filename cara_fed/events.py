"""Domain events: what happened in the core, as frozen dataclasses carrying ids only.

Services emit them with `emit(ctx, tx, event)`; they are dispatched after the transaction commits (never if
it rolls back). Edges subscribe in one module each (federation/subscriptions.py), wired by the composition roots; the
queue carries the class name and the ids. An event without subscribers in a process is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cara_fed.context import Context, Transaction


@dataclass(frozen=True)
class Event:
    def ids(self) -> tuple[int | str, ...]:
        """The field values in declaration order: what the queue carries and what subscribers receive."""
        return tuple(getattr(self, f.name) for f in fields(self))


# --- artworks and accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtworkPublished(Event):
    artwork_id: int


@dataclass(frozen=True)
class ArtworkUpdated(Event):
    artwork_id: int


@dataclass(frozen=True)
class ArtworkDeleted(Event):
    """The row is gone: the event carries the author and the work's activity id."""

    account_id: int
    artwork_uri: str


@dataclass(frozen=True)
class AccountUpdated(Event):
    account_id: int


@dataclass(frozen=True)
class AccountDeleted(Event):
    """The grace period ended: the account is a tombstone now; everyone who knew it gets Delete(actor)."""

    account_id: int


@dataclass(frozen=True)
class AccountMoved(Event):
    """The account moved to its `moved_to` actor: its followers are told with a Move."""

    account_id: int


# --- follows ----------------------------------------------------------------------------------------
# Emitted where the other side is remote (only another server needs telling), as before.


@dataclass(frozen=True)
class FollowRequested(Event):
    follow_id: int


@dataclass(frozen=True)
class FollowAccepted(Event):
    follow_id: int


@dataclass(frozen=True)
class FollowRejected(Event):
    follow_id: int


@dataclass(frozen=True)
class FollowCancelled(Event):
    """A local account stopped following (an unfollow, or a block that ended the follow)."""

    follow_id: int


# --- job board --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobPublished(Event):
    job_id: int


@dataclass(frozen=True)
class JobUpdated(Event):
    """Edited, closed or reopened."""

    job_id: int


@dataclass(frozen=True)
class JobDeleted(Event):
    account_id: int
    job_id: int


@dataclass(frozen=True)
class JobApplicationSubmitted(Event):
    """A local account applied to a remote studio's job."""

    application_id: int


@dataclass(frozen=True)
class JobApplicationStatusChanged(Event):
    """A local studio answered a remote applicant."""

    application_id: int


# --- likes, boosts, comments ------------------------------------------------------------------------


@dataclass(frozen=True)
class ArtworkLiked(Event):
    """A local like of a remote work (likes of local works stay local)."""

    like_id: int


@dataclass(frozen=True)
class LikeUndone(Event):
    """The row is gone: the event carries what the Undo needs."""

    account_id: int
    artwork_id: int
    like_uri: str


@dataclass(frozen=True)
class ArtworkBoosted(Event):
    boost_id: int


@dataclass(frozen=True)
class BoostUndone(Event):
    account_id: int
    artwork_id: int
    boost_uri: str


@dataclass(frozen=True)
class CommentPosted(Event):
    comment_id: int


@dataclass(frozen=True)
class CommentDeleted(Event):
    account_id: int
    artwork_id: int
    comment_uri: str


# --- safety -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountBlocked(Event):
    """A local account blocked a remote one."""

    block_id: int


@dataclass(frozen=True)
class AccountUnblocked(Event):
    account_id: int
    target_id: int
    block_uri: str


@dataclass(frozen=True)
class ReportForwarded(Event):
    """A report about a remote account, which the reporter asked to forward to its server."""

    report_id: int


def all_events() -> list[type[Event]]:
    """Every event class the core defines (for the composition roots' and the architecture test's checks)."""
    return list(Event.__subclasses__())


def emit(ctx: Context, tx: Transaction, event: Event) -> None:
    """Dispatch `event` to its subscribers once `tx` commits."""
    tx.after_commit(ctx.jobs.publish, event)
