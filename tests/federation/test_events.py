"""Typed domain events through the real huey adapter: what the queue carries, and that it reaches a peer."""

from __future__ import annotations

import asyncio

from cara_fed.events import AccountUpdated
from cara_fed_run.worker import HueyJobs, build_full_registry
from tests.federation.sink import activities
from tests.federation.test_delivery import with_followers


def _queued(jobs: HueyJobs, queue: str) -> list[tuple]:
    return [tuple(task.args) for task in jobs.hueys[queue].pending()]


async def test_an_event_is_queued_as_its_class_name_and_ids_and_reaches_followers(fed, sink):
    artist = await with_followers(fed, sink, (2, 1))
    jobs = HueyJobs(fed.config, build_full_registry())  # SqliteHuey in the test's data dir
    jobs.attach(fed, asyncio.get_running_loop())
    await jobs.publish(AccountUpdated(artist.id))
    [message] = _queued(jobs, "delivery")
    assert message[:2] == ("AccountUpdated", [artist.id])
    [task] = jobs.hueys["delivery"].pending()
    await asyncio.to_thread(jobs.hueys["delivery"].execute, task)  # as a consumer thread would
    updates = activities(sink, "Update")
    assert len(updates) == 2 and updates[0].json["object"]["type"] == "Person"  # one per instance (shared inbox)


async def test_a_message_queued_by_the_release_before_typed_events_still_runs(fed, sink):
    """Upgrading with work in the queue: a message under its old job name runs the event's subscribers."""
    artist = await with_followers(fed, sink, (1, 1))
    jobs = HueyJobs(fed.config, build_full_registry())
    jobs.attach(fed, asyncio.get_running_loop())
    old_release_task = jobs._tasks["delivery"]  # the same huey task (`run_job(name, args, request_id)`) as before
    await asyncio.to_thread(old_release_task, "account_updated", [artist.id], "-")
    [task] = jobs.hueys["delivery"].pending()
    await asyncio.to_thread(jobs.hueys["delivery"].execute, task)
    assert len(activities(sink, "Update")) == 2


async def test_an_event_without_subscribers_in_this_process_queues_nothing(ctx):
    from cara_fed_run.worker import build_registry

    jobs = HueyJobs(ctx.config, build_registry())  # the core alone: no edge subscribed
    await jobs.publish(AccountUpdated(1))
    assert all(_queued(jobs, queue) == [] for queue in jobs.hueys)
