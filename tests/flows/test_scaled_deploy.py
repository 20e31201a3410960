"""docs/deploy.md, scaled out: the documented systemd units' commands and environment, run as written, with the
documented shared settings — two web services (gunicorn, as on two machines, each with its own working
directory and disk; A with the documented two processes, B with one), workers for the inbox, delivery and
media queues, and one scheduler — on one PostgreSQL, Redis and SeaweedFS, behind the documented nginx site.

An artwork uploaded through nginx to web A is served by web B (which has no media on its disk), its Create
reaches a follower from the delivery worker (the web processes run no worker), the media worker processed it,
only the scheduler ran periodic jobs, and /readyz and /metrics answer (the worker's deliveries counted in web
A's /metrics through the shared metric folder)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from federation.signatures import sign_request
from tests import images
from tests.federation.peer import AP, running_peer
from tests.flows.test_deploy import DOC, needs_nginx, nginx_in_front, wait_for_port
from tests.flows.users import Browserless, eventually
from tests.instance import free_port
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)
from tests.services import fresh_postgres_database, redis_url

pytestmark = [pytest.mark.flow, pytest.mark.postgres, pytest.mark.redis]
BIN = Path(sys.executable).parent  # the units' /opt/cara-fed/.venv/bin
WORKER_QUEUES = ("inbox", "delivery", "media")  # what this flow uses of the five


def doc_section(name: str) -> str:
    text = DOC.read_text()
    assert f"<!-- {name}:start -->" in text, f"docs/deploy.md lost its {name} section"
    return text.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]


@dataclass
class Unit:
    env: dict[str, str]
    working_directory: str
    exec_start_pre: list[str]
    exec_start: str


def documented_units() -> dict[str, Unit]:
    """The unit files of docs/deploy.md by file name (cara-fed-web.service, cara-fed-worker@.service, …)."""
    section = doc_section("cara-fed-units")
    units = {}
    for name, body in re.findall(r"`/etc/systemd/system/([\w@.-]+)`.*?```ini\n(.*?)```", section, re.S):
        env, pre, start, cwd = {}, [], "", ""
        for line in body.splitlines():
            key, _, value = line.partition("=")
            if key == "Environment":
                env_key, _, env_value = value.partition("=")
                env[env_key] = env_value
            elif key == "ExecStartPre":
                pre.append(value)
            elif key == "ExecStart":
                start = value
            elif key == "WorkingDirectory":
                cwd = value
        units[name] = Unit(env, cwd, pre, start)
    assert set(units) == {"cara-fed-web.service", "cara-fed-worker@.service", "cara-fed-scheduler.service"}, units
    return units


@dataclass
class Host:
    """One machine's paths: /var/lib/cara-fed and /run/cara-fed live under its own root."""
    name: str
    root: Path
    config_path: Path

    def path(self, text: str, instance: str = "") -> str:
        for documented, here in (("/opt/cara-fed/.venv/bin/", f"{BIN}/"), ("/etc/cara-fed/config.toml",
                                 str(self.config_path)), ("/var/lib/cara-fed", str(self.root / "var")),
                                 ("/run/cara-fed", str(self.root / "run")), ("%i", instance), ("%H", self.name)):
            text = text.replace(documented, here)
        return text


class Units:
    """Units started as systemd would (Environment=, WorkingDirectory=, RuntimeDirectory=, ExecStartPre= first)
    and stopped together, SIGTERM to each main process (KillMode=mixed) as at shutdown."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self, unit: Unit, host: Host, settings: dict[str, str], name: str, instance: str = "") -> Path:
        cwd = Path(host.path(unit.working_directory))
        cwd.mkdir(parents=True, exist_ok=True)
        (host.root / "run").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **{key: host.path(value, instance) for key, value in unit.env.items()}, **settings}
        env.pop("NOTIFY_SOCKET", None)
        for command in unit.exec_start_pre:
            subprocess.run(shlex.split(host.path(command, instance)), env=env, cwd=cwd, check=True, timeout=30)
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            self.processes.append(subprocess.Popen(shlex.split(host.path(unit.exec_start, instance)), env=env,
                                                   cwd=cwd, stdout=out, stderr=subprocess.STDOUT))
        return log

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running_units(logs: Path) -> Iterator[Units]:
    logs.mkdir()
    units = Units(logs)
    try:
        yield units
    finally:
        units.stop()


def direct(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def cli(host: Host, settings: dict[str, str], *args: str) -> str:
    env = {**os.environ, "CARA_FED_CONFIG": str(host.config_path), **settings}
    done = subprocess.run([str(BIN / "cara-fed"), *args], env=env, cwd=host.root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_nginx
async def test_two_web_services_workers_and_a_scheduler_behind_nginx(tmp_path: Path,
                                                                     seaweed: Seaweed) -> None:  # noqa: F811
    units = documented_units()
    config_path = tmp_path / "config.toml"
    config_path.write_text(doc_section("cara-fed-shared").split("```toml\n", 1)[1].split("```", 1)[0])
    a, b = (Host(name, tmp_path / name, config_path) for name in ("host-a", "host-b"))
    public, port_a, port_b = free_port(), free_port(), free_port()
    async with fresh_postgres_database() as database_url, running_peer() as peer:
        shared = {"CARA_FED__DATABASE__URL": database_url, "CARA_FED__JOBS__REDIS_URL": redis_url(),
                  "CARA_FED__CACHE__REDIS_URL": redis_url(), "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
                  "CARA_FED__STORAGE__S3_BUCKET": seaweed.new_bucket(), "CARA_FED__STORAGE__S3_ACCESS_KEY": "flow",
                  "CARA_FED__STORAGE__S3_SECRET_KEY": "flow", "CARA_FED__SERVER__SCHEME": "http",
                  "CARA_FED__SERVER__DOMAIN": f"127.0.0.1:{public}",
                  "CARA_FED__FEDERATION__ALLOW_PRIVATE_ADDRESSES": "true"}
        on_a = {**shared, "CARA_FED__SERVER__PORT": str(port_a), "CARA_FED__SERVER__DATA_DIR": str(a.root / "data")}
        # B, the second machine, with one web process (A has the documented two).
        on_b = {**shared, "CARA_FED__SERVER__PORT": str(port_b), "CARA_FED__SERVER__DATA_DIR": str(b.root / "data"),
                "CARA_FED__SERVER__PROCESSES": "1"}
        a.root.mkdir()
        b.root.mkdir()
        # docs/storage.md's first step (it migrates the database too).
        assert "bucket created" in await asyncio.to_thread(cli, a, on_a, "media", "setup")
        with running_units(tmp_path / "logs") as running, nginx_in_front(tmp_path / "nginx", public, port_a):
            web_a = running.start(units["cara-fed-web.service"], a, on_a, "web-a")
            web_b = running.start(units["cara-fed-web.service"], b, on_b, "web-b")
            workers = {queue: running.start(units["cara-fed-worker@.service"], a, on_a, f"worker-{queue}", queue)
                       for queue in WORKER_QUEUES}
            scheduler_log = running.start(units["cara-fed-scheduler.service"], a, on_a, "scheduler")
            await asyncio.gather(  # an artist meanwhile
                asyncio.to_thread(cli, a, on_a, "createuser", "alice", "--email", "alice@a.example", "--password",
                                  "alice password"),
                *(asyncio.to_thread(wait_for_port, port, 60) for port in (port_a, port_b)))
            site = f"http://127.0.0.1:{public}"

            # A follower on another server: its Follow goes through nginx to web A, the inbox worker accepts
            # it and the delivery worker sends the Accept.
            bob = peer.add_actor("bob")
            inbox = f"{site}/users/alice/inbox"
            follow = peer.activity(bob, "Follow", f"{site}/users/alice")
            body = json.dumps(follow).encode()
            alice = Browserless(site)
            try:
                async with alice.http.post(inbox, data=body, headers={
                        "Content-Type": AP, **sign_request("POST", inbox, {}, body, bob.key_id, bob.private_pem)}) \
                        as accepted:
                    assert accepted.status == 202, await accepted.text()

                def received(kind: str) -> list[dict]:
                    return [document for _, _, raw in peer.received
                            if (document := json.loads(raw)).get("type") == kind]

                async def follow_accepted():  # type: ignore[no-untyped-def]
                    return received("Accept")
                await eventually(follow_accepted, within=45, what="the Accept of bob's Follow")

                # The upload, through nginx to web A; the media worker processes it.
                await alice.login("alice", "alice password")
                location = await alice.upload("Harbour", [("one.jpg", images.jpeg(1200, 800), "Boats")])

                async def published():  # type: ignore[no-untyped-def]
                    # Published, not only processed: the owner sees the ready images a moment before the work is
                    # published, and until then they are the owner's alone (web B would answer 404).
                    _, html = await alice.get(location)
                    return "<dt>Published</dt>" in html and re.findall(r"/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg", html)
                paths = await eventually(published, within=45, what="the upload processed and published")
            finally:
                await alice.close()

            # Served by web B, directly: the page from the shared database, the files from the shared bucket.
            status, _, page = await asyncio.to_thread(direct, port_b, location)
            assert status == 200 and b"Harbour" in page
            for path in paths:
                status, headers, data = await asyncio.to_thread(direct, port_b, path)
                assert status == 200 and headers["X-Robots-Tag"] == "noai, noimageai", (path, status)
                assert data[:2] == b"\xff\xd8"
            assert not any(p.is_file() for p in (b.root / "data").rglob("*") if "media" in p.parts)

            # The Create reaches the follower, sent by the delivery worker (no web process runs a worker).
            async def created():  # type: ignore[no-untyped-def]
                return [c for c in received("Create") if "Harbour" in json.dumps(c)]
            create = (await eventually(created, within=45, what="the Create delivered to bob"))[0]
            assert create["actor"] == f"{site}/users/alice"
            assert any(path in json.dumps(create["object"]["attachment"]) for path in paths)
            assert all("signature" in {key.lower() for key in headers} for _, headers, _ in peer.received)

            # Health through nginx and on B; metrics stay inside, and web A's sum in the worker's deliveries.
            for port in (public, port_b):
                status, _, ready = await asyncio.to_thread(direct, port, "/readyz")
                assert status == 200, ready
            assert (await asyncio.to_thread(direct, public, "/metrics"))[0] == 404
            status, _, metrics = await asyncio.to_thread(direct, port_a, "/metrics")
            sent = re.search(rf'cara_fed_deliveries_total\{{instance="{re.escape(peer.host)}",outcome="sent"\}} '
                             rf'([0-9.]+)', metrics.decode())
            assert status == 200 and sent and float(sent.group(1)) >= 2, metrics.decode()[-3000:]

            # Who did what: the media worker claimed the upload; only the scheduler claimed periodic runs.
            connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
            try:
                claimed = {row[0] for row in await connection.fetch("SELECT claimed_by FROM media_assets")}
                runs = {row[0] for row in await connection.fetch("SELECT claimed_by FROM scheduled_runs")}
            finally:
                await connection.close()
            assert claimed == {"host-a/media"}, claimed
            assert runs and all(who.endswith("/scheduler") for who in runs), runs
            web_logs = web_a.read_text() + web_b.read_text()
            assert web_logs.count("Using worker: aiohttp.GunicornWebWorker") == 2, web_logs[-3000:]
            assert web_a.read_text().count("Booting worker with pid") == 2
            assert "embedded worker started" not in web_logs
            assert "cara-fed worker for queues: delivery" in workers["delivery"].read_text()
            assert "scheduler" in scheduler_log.read_text()
