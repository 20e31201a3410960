"""Typed handles on background tasks: work to do, as opposed to domain events (cara_fed/events.py).

Callers pass a handle (`ctx.jobs.enqueue(tasks.DELIVER, *ids)`), never a name typed at the call site. The
composition roots bind a function to each: the core's in cara_fed_run/worker.py, the federation edge's in
federation/subscriptions.py. A name is what travels on the queue, so it stays stable across releases.
"""

from __future__ import annotations

from cara_fed.queue import Task

# The core's own work.
PROTECT_MEDIA = Task("protect_media", "media")
PROTECT_REMOTE_MEDIA = Task("protect_remote_media", "remote-media")  # same pipeline, apart from local uploads
RESTAMP_ARTWORK = Task("restamp_artwork", "media")
CLOAK_MEDIA = Task("cloak_media", "cloak")
SWEEP = Task("sweep", "media")
RUN_PERIODIC = Task("run_periodic", "media")
SEND_MAIL = Task("send_mail", "delivery")  # outgoing work, like federation deliveries
IMPORT_ARCHIVE = Task("import_archive", "media")  # a cara-fed portfolio archive into an account
IMPORT_FOLLOWS = Task("import_follows", "delivery")  # a Mastodon following CSV: lookups and Follows

# Work the core hands to the federation edge (its rows live in the core; the edge knows how to do it).
PROCESS_INBOX = Task("process_inbox", "inbox")
PROCESS_INBOX_BATCH = Task("process_inbox_batch", "inbox")
FETCH_REMOTE_MEDIA = Task("fetch_remote_media", "remote-media")
REFETCH_REMOTE_MEDIA = Task("refetch_remote_media", "remote-media")  # evicted remote media, viewed again
BUILD_EXPORT = Task("build_export", "media")  # a portfolio archive: its outbox.json is AS2, built by the edge
DELIVER = Task("deliver", "delivery")
# Called by the core's periodic sweep (cara_fed_run.worker.sweep_all), not queued on their own.
SWEEP_INBOX = Task("sweep_inbox", "inbox")
SWEEP_DELIVERIES = Task("sweep_deliveries", "delivery")


def all_tasks() -> list[Task]:
    return [value for value in globals().values() if isinstance(value, Task)]
