"""Allowed state transitions of every durable work row, declared once.

Jobs re-read a row and act only if it is still in the state they expect; `transition()` refuses
anything not listed here, so a bug cannot silently move work backwards or skip a step.
"""

from __future__ import annotations

from typing import Any

from cara_fed.db import utcnow


class IllegalTransition(RuntimeError):
    pass


MACHINES: dict[str, dict[str, frozenset[str]]] = {
    # Uploaded originals on their way to public derivatives. "held" = kept for moderator review.
    # "cloaking": queued or running on the cloak queue; "cloak_stopped": cancelled by the artist or failed
    # (error_code says which): retry (-> cloaking) or publish without the cloak (-> uploaded).
    "MediaAsset": {
        "uploaded": frozenset({"processing", "rejected", "cloaking"}),
        "processing": frozenset({"ready", "rejected", "held", "uploaded"}),  # -> uploaded: sweep retry
        "cloaking": frozenset({"ready", "rejected", "cloak_stopped"}),
        "cloak_stopped": frozenset({"cloaking", "uploaded"}),
        "held": frozenset({"ready", "rejected", "processing"}),
        "ready": frozenset({"processing"}),  # re-process (new policy, new sizes)
        "rejected": frozenset(),
        "draft": frozenset(),  # kept for a refused upload form (services/upload_drafts.py): never processed
    },
    # An artwork is visible once every image is ready and the AI-provenance policy lets it through.
    # "held": waiting for a moderator; "rejected": refused by policy or a moderator, kept privately (appealable).
    "Artwork": {
        "processing": frozenset({"published", "failed", "held", "rejected"}),
        "held": frozenset({"published", "failed", "processing", "rejected"}),
        "rejected": frozenset({"published", "held", "processing"}),
        "published": frozenset({"processing", "held", "rejected"}),  # edited with new images; moderated
        "failed": frozenset({"processing"}),
    },
    "InboxItem": {
        "received": frozenset({"processed", "ignored", "failed", "retry"}),
        "retry": frozenset({"processed", "ignored", "failed", "retry"}),
        "processed": frozenset(),
        "ignored": frozenset(),
        "failed": frozenset(),
    },
    "Delivery": {
        "pending": frozenset({"sent", "gone", "failed", "retry", "paused"}),
        "retry": frozenset({"sent", "gone", "failed", "retry", "paused"}),
        "paused": frozenset({"pending"}),
        "sent": frozenset(),
        "gone": frozenset(),
        "failed": frozenset(),
    },
    # Account emails: queued (waiting or between tries) -> sent, or failed after [mail] attempts.
    "OutgoingMail": {
        "queued": frozenset({"sent", "failed", "queued"}),
        "sent": frozenset(),
        "failed": frozenset(),
    },
    # Portfolio archives (services/archive_export.py) and imports (services/imports.py, archive_import.py).
    "DataExport": {
        "queued": frozenset({"building", "failed"}),
        "building": frozenset({"ready", "failed", "queued"}),  # -> queued: the sweep retries a dead build
        "ready": frozenset(),
        "failed": frozenset(),
    },
    "DataImport": {
        "queued": frozenset({"running", "failed"}),
        "running": frozenset({"done", "failed", "queued"}),
        "done": frozenset(),
        "failed": frozenset(),
    },
    "Follow": {
        "requested": frozenset({"accepted", "rejected", "cancelled"}),
        "accepted": frozenset({"cancelled"}),
        "rejected": frozenset(),
        "cancelled": frozenset(),
    },
}


def can_transition(kind: str, current: str, new: str) -> bool:
    return new in MACHINES[kind].get(current, frozenset())


def transition(row: Any, new: str) -> None:
    """Move `row.state` to `new`, stamping `state_changed_at`; raise on an undeclared move."""
    kind = type(row).__name__
    if not can_transition(kind, row.state, new):
        raise IllegalTransition(f"{kind} {getattr(row, 'id', '?')}: {row.state} -> {new} is not allowed")
    row.state = new
    if hasattr(row, "state_changed_at"):
        row.state_changed_at = utcnow()
