"""Federation's background jobs, registered into the worker's registry by the composition root.

Each edge module is imported lazily and only if present, so the registry can be built while parts of the
federation edge are still missing (the core then keeps its no-op placeholders for those event names).
"""

from __future__ import annotations

import importlib
import logging

from cara_fed.jobs import JobRegistry

log = logging.getLogger(__name__)

# job name -> (queue, module, function)
JOBS: dict[str, tuple[str, str, str]] = {
    "process_inbox": ("inbox", "federation.handlers", "process_inbox"),
    "process_inbox_batch": ("inbox", "federation.inbox_jobs", "process_inbox_batch"),
    "fetch_remote_media": ("remote-media", "federation.media_fetch", "fetch_remote_media"),
    "refetch_remote_media": ("remote-media", "federation.media_fetch", "refetch_remote_media"),
    "artwork_published": ("delivery", "federation.outbox", "artwork_published"),
    "artwork_updated": ("delivery", "federation.outbox", "artwork_updated"),
    "artwork_deleted": ("delivery", "federation.outbox", "artwork_deleted"),
    "send_follow": ("delivery", "federation.outbox", "send_follow"),
    "send_accept": ("delivery", "federation.outbox", "send_accept"),
    "send_reject": ("delivery", "federation.outbox", "send_reject"),
    "send_undo_follow": ("delivery", "federation.outbox", "send_undo_follow"),
    "account_updated": ("delivery", "federation.outbox", "account_updated"),
    "job_published": ("delivery", "federation.job_posts", "job_published"),
    "job_updated": ("delivery", "federation.job_posts", "job_updated"),
    "job_deleted": ("delivery", "federation.job_posts", "job_deleted"),
    "send_job_application": ("delivery", "federation.job_posts", "send_job_application"),
    "send_like": ("delivery", "federation.social_outbox", "send_like"),
    "send_undo_like": ("delivery", "federation.social_outbox", "send_undo_like"),
    "send_announce": ("delivery", "federation.social_outbox", "send_announce"),
    "send_undo_announce": ("delivery", "federation.social_outbox", "send_undo_announce"),
    "send_comment": ("delivery", "federation.social_outbox", "send_comment"),
    "send_comment_deleted": ("delivery", "federation.social_outbox", "send_comment_deleted"),
    "send_application_status": ("delivery", "federation.job_posts", "send_application_status"),
    "send_block": ("delivery", "federation.safety", "send_block"),
    "send_undo_block": ("delivery", "federation.safety", "send_undo_block"),
    "send_flag": ("delivery", "federation.safety", "send_flag"),
    "deliver": ("delivery", "federation.delivery", "deliver"),
    # Called by the core's periodic sweep (cara_fed.worker.sweep_all), not queued on their own.
    "sweep_inbox": ("inbox", "federation.handlers", "sweep_inbox"),
    "sweep_deliveries": ("delivery", "federation.delivery", "sweep_deliveries"),
}


def register_jobs(registry: JobRegistry) -> list[str]:
    """Register every federation job whose module exists; returns the names registered."""
    registered = []
    for name, (queue, module_name, function_name) in JOBS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registry.register(name, queue, getattr(module, function_name))
        registered.append(name)
    return registered
