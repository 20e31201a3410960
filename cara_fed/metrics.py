"""Prometheus metrics that add up across web and worker processes.

Counters and histograms live in prometheus-client's registry; with PROMETHEUS_MULTIPROC_DIR set (`serve`
sets it for several processes, docs/operations.md for separate workers) each process writes its own file
and a scrape of any process sums them. Backlogs (waiting rows and their age, queue lengths) are read live
from the database and the queue at scrape time, so they are right whichever process answers.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.models import Delivery, InboxItem, MediaAsset

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram("cara_fed_http_request_duration_seconds", "Time to answer a request, by route.",
                            ["method", "route", "status"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DELIVERIES = Counter("cara_fed_deliveries", "Delivery attempts by outcome (sent, gone, failed, retry) and "
                     "receiving instance.", ["outcome", "instance"])
REQUESTS_SHED = Counter("cara_fed_requests_shed", "Requests answered 503 at once because the process was at "
                        "[server] max_inflight_requests (back-pressure).")
INBOX_ACCEPTED = Counter("cara_fed_inbox_accepted", "Signed activities accepted into the inbox (202).")
JOB_SECONDS = Histogram("cara_fed_job_duration_seconds", "Time a job took, by job name (media, detection and "
                        "cloak timings among them).", ["job"],
                        buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))

# Rows still waiting for a worker, per kind: (model, waiting states).
BACKLOGS = {
    "inbox": (InboxItem, ("received", "retry")),
    "delivery": (Delivery, ("pending", "retry")),
    "media": (MediaAsset, ("uploaded", "processing", "cloaking")),
}


def process_registry() -> CollectorRegistry:
    """What this process's counters say, or the sum over every process writing to the shared folder."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


async def backlog_registry(ctx: Context) -> CollectorRegistry:
    registry = CollectorRegistry()
    waiting = GaugeMetricFamily("cara_fed_backlog_rows", "Rows waiting for a worker, by kind and state.",
                                labels=["kind", "state"])
    oldest = GaugeMetricFamily("cara_fed_backlog_oldest_seconds", "Age of the oldest waiting row, by kind.",
                               labels=["kind"])
    now = utcnow()
    async with ctx.sessions() as session:
        for kind, (model, states) in BACKLOGS.items():
            rows = (await session.execute(
                select(model.state, func.count(), func.min(model.state_changed_at))
                .where(model.state.in_(states)).group_by(model.state))).all()
            counts = {state: count for state, count, _ in rows}
            ages = [_age(now, first) for _, _, first in rows if first is not None]
            for state in states:
                waiting.add_metric([kind, state], counts.get(state, 0))
            oldest.add_metric([kind], max(ages, default=0.0))
    registry.register(_Fixed([waiting, oldest, await _queue_lengths(ctx)]))
    return registry


def _age(now: datetime, then: datetime) -> float:
    if then.tzinfo is None:  # SQLite hands back naive UTC
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())


async def _queue_lengths(ctx: Context) -> GaugeMetricFamily:
    family = GaugeMetricFamily("cara_fed_queue_length", "Jobs waiting in each queue.", labels=["queue"])
    hueys = getattr(ctx.jobs, "hueys", None) or {}  # inline jobs (tests, demo) have no queue
    for queue, huey in hueys.items():
        family.add_metric([queue], await asyncio.to_thread(huey.pending_count))
    return family


class _Fixed:
    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self):  # type: ignore[no-untyped-def]
        return iter(self.families)


async def exposition(ctx: Context) -> bytes:
    live = await backlog_registry(ctx)
    return generate_latest(process_registry()) + generate_latest(live)
