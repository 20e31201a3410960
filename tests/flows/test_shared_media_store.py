"""Two `cara-fed serve` processes share one PostgreSQL database and one SeaweedFS bucket: an upload on the
first (whose embedded worker processes it) is served by the second, which has no media on its own disk."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)
from tests.services import fresh_postgres_database

pytestmark = pytest.mark.flow


async def test_upload_on_one_process_is_served_by_another(tmp_path, seaweed: Seaweed):  # noqa: F811
    async with fresh_postgres_database() as database_url:
        shared = {"CARA_FED__DATABASE__URL": database_url, "CARA_FED__STORAGE__BACKEND": "s3",
                  "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
                  "CARA_FED__STORAGE__S3_BUCKET": seaweed.new_bucket(),
                  "CARA_FED__STORAGE__S3_ACCESS_KEY": "flow", "CARA_FED__STORAGE__S3_SECRET_KEY": "flow"}
        # The operator's steps from docs/storage.md: migrate the database, create the bucket, then serve.
        env = {**os.environ, **shared, "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "setup")}
        env.pop("CARA_FED_CONFIG", None)
        for command in (["migrate"], ["media", "setup"]):
            done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cara_fed_run.cli", *command],
                                           env=env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
        assert "bucket created" in done.stdout
        with running_instance(tmp_path / "a", settings=shared) as a, \
                running_instance(tmp_path / "b", settings={**shared, "CARA_FED__JOBS__EMBEDDED_WORKER": "false"}) as b:
            await asyncio.to_thread(a.cli, "createuser", "alice", "--email", "alice@a.example", "--password",
                                    "alice password")
            alice = Browserless(a.url)
            try:
                await alice.login("alice", "alice password")
                location = await alice.upload("Harbour", [("one.jpg", images.jpeg(1200, 800), "Boats")])

                async def published():  # type: ignore[no-untyped-def]
                    # Published, not only processed: the owner's page shows the ready images a moment before the
                    # work is published (services/media_pipeline.py settles it after), and until then they are
                    # the owner's alone (B's 404, kept by B's media access cache).
                    _, html = await alice.get(location)
                    return "<dt>Published</dt>" in html and re.findall(r"/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg", html)
                paths = await eventually(published, what="the upload processed and published by A's worker")
            finally:
                await alice.close()
            visitor = Browserless(b.url)
            try:
                for path in paths:
                    async with visitor.http.get(f"{b.url}{path}") as served:
                        assert served.status == 200 and served.headers["X-Robots-Tag"] == "noai, noimageai"
                        assert (await served.read())[:2] == b"\xff\xd8"  # a JPEG, from the bucket
            finally:
                await visitor.close()
            for instance in (a, b):
                assert not any(p.is_file() for p in (instance.data_dir / "media").rglob("*"))
