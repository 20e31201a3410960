"""Federation's subscriptions and tasks: the one place that says what the edge does about each core event.

Static imports only, so the import graph shows every path from a core event to what federation sends.
The composition roots (cara_fed_run/worker.py, and through it cara_fed_run/app.py) call `register_jobs`.
"""

from __future__ import annotations

from cara_fed import events as ev
from cara_fed import tasks
from cara_fed.queue import JobFunction, JobRegistry, Subscribers, Task, on
from cara_fed.services import public_media
from federation.inbound import batch as inbox_jobs
from federation.inbound import handlers, media_fetch
from federation.outbound import deletions, delivery, job_posts, moves, outbox, portfolio_export, safety
from federation.outbound import social as social_outbox

# Every core event -> the handlers that turn it into activities (each `(ctx, *event ids)`).
SUBSCRIPTIONS: dict[type[ev.Event], Subscribers] = {
    # public_media first: a Create or Update then names the store/CDN's copies ([storage] public_base_url).
    ev.ArtworkPublished: on("delivery", public_media.artwork_changed, outbox.artwork_published),
    ev.ArtworkUpdated: on("delivery", public_media.artwork_changed, outbox.artwork_updated),
    ev.ArtworkDeleted: on("delivery", public_media.artwork_withdrawn, outbox.artwork_deleted),
    ev.AccountUpdated: on("delivery", public_media.account_changed, outbox.account_updated),
    ev.AccountMoved: on("delivery", moves.send_move),
    ev.AccountDeleted: on("delivery", deletions.account_deleted),
    ev.FollowRequested: on("delivery", outbox.send_follow),
    ev.FollowAccepted: on("delivery", outbox.send_accept),
    ev.FollowRejected: on("delivery", outbox.send_reject),
    ev.FollowCancelled: on("delivery", outbox.send_undo_follow),
    ev.JobPublished: on("delivery", job_posts.job_published),
    ev.JobUpdated: on("delivery", job_posts.job_updated),
    ev.JobDeleted: on("delivery", job_posts.job_deleted),
    ev.JobApplicationSubmitted: on("delivery", job_posts.send_job_application),
    ev.JobApplicationStatusChanged: on("delivery", job_posts.send_application_status),
    ev.ArtworkLiked: on("delivery", social_outbox.send_like),
    ev.LikeUndone: on("delivery", social_outbox.send_undo_like),
    ev.ArtworkBoosted: on("delivery", social_outbox.send_announce),
    ev.BoostUndone: on("delivery", social_outbox.send_undo_announce),
    ev.CommentPosted: on("delivery", social_outbox.send_comment),
    ev.CommentDeleted: on("delivery", social_outbox.send_comment_deleted),
    ev.AccountBlocked: on("delivery", safety.send_block),
    ev.AccountUnblocked: on("delivery", safety.send_undo_block),
    ev.ReportForwarded: on("delivery", safety.send_flag),
}

# Tasks the core queues and this edge performs.
TASKS: dict[Task, JobFunction] = {
    tasks.PROCESS_INBOX: handlers.process_inbox,
    tasks.PROCESS_INBOX_BATCH: inbox_jobs.process_inbox_batch,
    tasks.FETCH_REMOTE_MEDIA: media_fetch.fetch_remote_media,
    tasks.REFETCH_REMOTE_MEDIA: media_fetch.refetch_remote_media,
    tasks.BUILD_EXPORT: portfolio_export.build_export,  # the core writes the zip; its outbox.json is AS2
    tasks.DELIVER: delivery.deliver,
    tasks.SWEEP_INBOX: handlers.sweep_inbox,
    tasks.SWEEP_DELIVERIES: delivery.sweep_deliveries,
}


def register_jobs(registry: JobRegistry) -> None:
    for task, function in TASKS.items():
        registry.register(task, function)
    for event_type, subscribers in SUBSCRIPTIONS.items():
        registry.subscribe(event_type, subscribers)
        # Before typed events a message carried its handler's name (`send_accept`, ...) and the same ids: a
        # message queued by the previous release still runs after an upgrade.
        for handler in subscribers.handlers:
            registry.alias(handler.__name__, event_type)
