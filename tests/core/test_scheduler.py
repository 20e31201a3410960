"""Periodic jobs run exactly once per slot however many schedulers try: in one process (concurrent callers)
and across real `cara-fed scheduler` processes sharing PostgreSQL; [jobs] separate_scheduler takes the
periodic duty off the workers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from cara_fed import scheduler
from cara_fed.config import load_config
from cara_fed.db import utcnow
from cara_fed.models import ScheduledRun
from cara_fed_run.worker import HueyJobs, Worker, build_full_registry
from tests.services import fresh_postgres_database


async def test_one_run_per_slot_among_concurrent_schedulers(ctx):
    runs: list[str] = []

    async def job(_ctx) -> None:  # type: ignore[no-untyped-def]
        runs.append("ran")

    jobs = [scheduler.Periodic("tidy", 60, job)]
    now = utcnow()
    results = await asyncio.gather(*(scheduler.run_due(ctx, jobs, f"s{n}", now) for n in range(6)))
    assert sorted(len(r) for r in results) == [0, 0, 0, 0, 0, 1] and runs == ["ran"]
    # Same slot later in the minute: nothing; the next slot: once more.
    assert await scheduler.run_due(ctx, jobs, "s9", scheduler.slot_of(now, 60) + timedelta(seconds=59)) == []
    assert await scheduler.run_due(ctx, jobs, "s9", now + timedelta(seconds=60)) == ["tidy"]
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(ScheduledRun).order_by(ScheduledRun.slot))).all()
    assert [row.job for row in rows] == ["tidy", "tidy"] and rows[1].claimed_by == "s9"


async def test_a_failing_job_does_not_stop_the_others(ctx):
    ran = []

    async def broken(_ctx) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    async def fine(_ctx) -> None:  # type: ignore[no-untyped-def]
        ran.append("fine")

    names = await scheduler.run_due(ctx, [scheduler.Periodic("broken", 60, broken),
                                          scheduler.Periodic("fine", 60, fine)], "me")
    assert names == ["broken", "fine"] and ran == ["fine"]


def test_separate_scheduler_takes_periodic_work_off_the_workers(tmp_path):
    base = {"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data")}
    for separate, expected in (("false", True), ("true", False)):
        config = load_config(environ={**base, "CARA_FED__JOBS__SEPARATE_SCHEDULER": separate})
        jobs = HueyJobs(config, build_full_registry())
        worker = Worker(jobs, ("media", "inbox"), 1, embedded=True)
        assert [consumer.periodic for consumer in worker.consumers] == [expected, False]


def test_two_scheduler_processes_share_the_slots(tmp_path: Path) -> None:
    async def database() -> str:
        manager = fresh_postgres_database()
        url = await manager.__aenter__()
        holders.append(manager)
        return url

    holders: list = []
    loop = asyncio.new_event_loop()
    try:
        url = loop.run_until_complete(database())
        env = {**os.environ, "CARA_FED__DATABASE__URL": url, "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
               "CARA_FED__JOBS__SWEEP_SECONDS": "5", "CARA_FED__JOBS__SEPARATE_SCHEDULER": "true"}
        env.pop("CARA_FED_CONFIG", None)
        subprocess.run([sys.executable, "-m", "cara_fed_run.cli", "migrate"], env=env, check=True, capture_output=True,
                       timeout=120)
        logs = [tmp_path / f"scheduler{n}.log" for n in range(2)]
        processes = [subprocess.Popen([sys.executable, "-m", "cara_fed_run.cli", "scheduler"], env=env,
                                      stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # three sweep slots at least
                text = "".join(log.read_text(errors="replace") for log in logs)
                if len(re.findall(r"ran sweep", text)) >= 3:
                    break
                time.sleep(0.5)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                assert process.wait(timeout=20) == 0
        texts = [log.read_text(errors="replace") for log in logs]
        sweeps = sum(len(re.findall(r"ran sweep", text)) for text in texts)
        assert sweeps >= 3, texts
        assert all("running sweep every 5s, retention every 3600s" in text for text in texts), texts
        assert not any("Traceback" in text for text in texts), texts  # the sweeps themselves worked

        async def slots() -> int:
            from cara_fed.db import make_engine

            engine = make_engine(url)
            try:
                async with engine.connect() as connection:
                    return len((await connection.execute(
                        select(ScheduledRun.slot).where(ScheduledRun.job == "sweep"))).all())
            finally:
                await engine.dispose()

        # Every run in the logs had its own slot: no slot was swept by both processes.
        assert loop.run_until_complete(slots()) == sweeps
    finally:
        for manager in holders:
            loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()
