"""Behind a reverse proxy, health and metrics over real HTTP: the client address comes from X-Forwarded-For /
Forwarded only when the peer is a trusted proxy (per-client limits then separate visitors); /livez, /readyz
with its checks; /metrics for allowed addresses or the token; request ids."""

from __future__ import annotations

import shutil

import pytest
from aiohttp.test_utils import TestClient

from cara_fed.config import Config, ConfigError, load_config
from cara_fed.observe import parse_networks, resolve_client

MEDIA = "/media/ab/" + "0" * 32 + ".jpg"  # no such file: 404 until the rate limit answers 429 first
LOCAL = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


async def make_client(config: Config, aiohttp_client, migrate: bool = True,  # type: ignore[no-untyped-def]
                      **server) -> TestClient:
    from cara_fed_run.app import create_app

    for name, value in server.items():
        section, key = name.split("__")
        setattr(getattr(config, section), key, value)
    return await aiohttp_client(create_app(config, jobs="inline", migrate=migrate))


@pytest.mark.parametrize(("peer", "headers", "expected"), [
    # An untrusted peer is the client, whatever it writes.
    ("203.0.113.9", {"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https"}, ("203.0.113.9", "http")),
    # nginx on loopback: the last untrusted hop is the client; what that client claimed before it is ignored.
    ("127.0.0.1", {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.2.3", "X-Forwarded-Proto": "https"},
     ("198.51.100.7", "https")),
    ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, ("198.51.100.7", "http")),
    # RFC 7239, IPv6 with port, quoted; mapped IPv4 is plain IPv4.
    ("::1", {"Forwarded": 'for="[2001:db8::7]:4711";proto=https, for=10.0.0.2'}, ("2001:db8::7", "https")),
    ("127.0.0.1", {"Forwarded": "for=198.51.100.8:1234"}, ("198.51.100.8", "http")),
    ("::ffff:127.0.0.1", {"X-Forwarded-For": "::ffff:198.51.100.9"}, ("198.51.100.9", "http")),
    # Garbage or "unknown" stops the walk at the last hop we could place.
    ("127.0.0.1", {"X-Forwarded-For": "garbage, 10.0.0.5"}, ("10.0.0.5", "http")),
    ("127.0.0.1", {"Forwarded": "for=unknown"}, ("127.0.0.1", "http")),
    # No header from a trusted proxy: the proxy itself; a bad proto is ignored.
    ("127.0.0.1", {"X-Forwarded-Proto": "gopher"}, ("127.0.0.1", "http")),
])
def test_client_address_is_believed_only_from_trusted_proxies(peer, headers, expected) -> None:
    assert resolve_client(peer, "http", headers, LOCAL) == expected


def test_unix_socket_proxy_and_bad_entries() -> None:
    assert resolve_client(None, "http", {"X-Forwarded-For": "198.51.100.1"}, LOCAL) == ("unknown", "http")
    unix = parse_networks(["unix"])
    assert resolve_client(None, "http", {"X-Forwarded-For": "198.51.100.1"}, unix) == ("198.51.100.1", "http")
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CARA_FED__SERVER__TRUSTED_PROXIES": "127.0.0.1,nginx.local",
                             "CARA_FED__METRICS__ALLOWED": "10.0.0.0/33"})
    assert any("trusted_proxies" in p and "nginx.local" in p for p in caught.value.problems)
    assert any("[metrics] allowed" in p and "10.0.0.0/33" in p for p in caught.value.problems)
    config = load_config(environ={"CARA_FED__SERVER__TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert config.server.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]


async def test_behind_a_trusted_proxy_each_visitor_has_its_own_rate_limit(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, server__trusted_proxies=["127.0.0.1"],
                               protection__media_rate_limit_per_minute=2)
    ada, bob = {"X-Forwarded-For": "198.51.100.1"}, {"X-Forwarded-For": "198.51.100.2"}
    assert [(await client.get(MEDIA, headers=ada)).status for _ in range(3)] == [404, 404, 429]
    # Another visitor behind the same proxy is not punished for the first one.
    assert (await client.get(MEDIA, headers=bob)).status == 404
    assert (await client.get(MEDIA, headers=ada)).status == 429


async def test_without_trust_forwarded_headers_cannot_dodge_the_limit(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, protection__media_rate_limit_per_minute=2)
    statuses = [(await client.get(MEDIA, headers={"X-Forwarded-For": f"198.51.100.{n}"})).status for n in range(3)]
    assert statuses == [404, 404, 429]


async def test_livez_and_readyz_report_each_part(config, aiohttp_client):
    client = await make_client(config, aiohttp_client)
    live = await client.get("/livez")
    assert live.status == 200 and (await live.json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()
    assert await ready.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok", "storage": "ok"}}
    assert ready.headers["Cache-Control"] == "no-store"
    # Media storage gone (a lost mount): not ready, and the answer says which part.
    shutil.rmtree(config.data_path / "media" / "public")
    ready = await client.get("/readyz")
    assert ready.status == 503
    body = await ready.json()
    assert body["status"] == "unavailable" and body["checks"]["database"] == "ok"
    assert body["checks"]["storage"].startswith("error:") and "public" in body["checks"]["storage"]


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path, aiohttp_client):
    config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
                                  "CARA_FED__DATABASE__URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    client = await make_client(config, aiohttp_client, migrate=False)
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert (await ready.json())["checks"]["database"].startswith("error:")
    assert (await client.get("/livez")).status == 200  # alive all the same: restarting would not help


async def test_metrics_for_allowed_addresses_or_the_token(config, aiohttp_client):
    client = await make_client(config, aiohttp_client)
    for _ in range(3):
        assert (await client.get("/livez")).status == 200
    response = await client.get("/metrics")
    assert response.status == 200 and response.content_type == "text/plain"
    text = await response.text()
    assert 'cara_fed_http_request_duration_seconds_count{method="GET",route="/livez",status="200"}' in text
    assert 'cara_fed_backlog_rows{kind="inbox",state="received"} 0.0' in text
    assert 'cara_fed_backlog_oldest_seconds{kind="delivery"} 0.0' in text
    assert "cara_fed_inbox_accepted_total" in text


async def test_metrics_refused_to_others_and_opened_by_the_token(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, metrics__allowed=["10.0.0.0/8"], metrics__token="s3cret")
    # Not from an allowed address; a forwarded header from an untrusted peer changes nothing.
    assert (await client.get("/metrics")).status == 403
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})).status == 403
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 403
    assert (await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})).status == 200


async def test_metrics_can_be_turned_off(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, metrics__enabled=False)
    assert (await client.get("/metrics")).status == 404


async def test_request_ids_come_back_and_only_a_trusted_proxy_may_set_them(config, aiohttp_client):
    client = await make_client(config, aiohttp_client, server__trusted_proxies=["127.0.0.1"])
    own = await client.get("/livez")
    assert len(own.headers["X-Request-Id"]) == 16
    passed = await client.get("/livez", headers={"X-Request-Id": "nginx-abc123"})
    assert passed.headers["X-Request-Id"] == "nginx-abc123"
    refused = await client.get("/livez", headers={"X-Request-Id": "bad id\twith spaces"})
    assert refused.headers["X-Request-Id"] != "bad id\twith spaces"
    missing = await client.get("/no-such-page")
    assert missing.status == 404 and missing.headers["X-Request-Id"]


async def test_an_untrusted_peer_cannot_choose_its_request_id(config, aiohttp_client):
    client = await make_client(config, aiohttp_client)
    response = await client.get("/livez", headers={"X-Request-Id": "forged"})
    assert response.headers["X-Request-Id"] != "forged"


def test_json_log_lines_carry_the_request_id_and_access_fields() -> None:
    import json
    import logging

    from cara_fed.observe import REQUEST_ID, JsonFormatter, RequestIdFilter

    record = logging.LogRecord("cara_fed.access", logging.INFO, __file__, 1, "%s GET %s", ("198.51.100.1", "/x"),
                               None)
    record.client, record.status, record.ms = "198.51.100.1", 200, 1.5
    token = REQUEST_ID.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "198.51.100.1 GET /x" and line["request_id"] == "abc123"
    assert (line["client"], line["status"], line["ms"], line["level"]) == ("198.51.100.1", 200, 1.5, "INFO")


async def test_a_job_runs_under_the_request_id_that_queued_it(tmp_path) -> None:
    import asyncio

    from cara_fed.context import Context
    from cara_fed.observe import REQUEST_ID
    from cara_fed.queue import JobRegistry, Task
    from cara_fed_run.worker import HueyJobs

    seen: list[str] = []

    async def probe(_ctx) -> None:  # type: ignore[no-untyped-def]
        seen.append(REQUEST_ID.get())

    registry = JobRegistry()
    registry.register(PROBE := Task("probe", "inbox"), probe)
    config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data")})
    ctx = Context.create(config)
    try:
        jobs = HueyJobs(config, registry)
        for huey in jobs.hueys.values():
            huey.immediate = True  # huey runs the task at enqueue time, through the same runner a worker uses
        jobs.attach(ctx, asyncio.get_running_loop())
        token = REQUEST_ID.set("req-42")
        try:
            await jobs.enqueue(PROBE)
        finally:
            REQUEST_ID.reset(token)
        await jobs.enqueue(PROBE)  # queued outside any request
        assert seen == ["req-42", "-"]
    finally:
        await ctx.close()


async def test_delivery_outcomes_and_backlogs_show_in_metrics(config, aiohttp_client):
    from datetime import timedelta

    from cara_fed.context import CONTEXT_KEY
    from cara_fed.db import utcnow
    from cara_fed.models import InboxItem
    from cara_fed.services import deliveries

    client = await make_client(config, aiohttp_client)
    ctx = client.app[CONTEXT_KEY]
    domain = f"peer-{config.database_url[:8].replace(':', '')}.example"

    def sample(text: str, line_start: str) -> float:
        found = [line for line in text.splitlines() if line.startswith(line_start)]
        return float(found[0].rsplit(" ", 1)[1]) if found else 0.0

    sent = f'cara_fed_deliveries_total{{instance="{domain}",outcome="sent"}}'
    before = sample(await (await client.get("/metrics")).text(), sent)
    await deliveries.settle(ctx, [deliveries.Outcome(10**6, domain, "sent", 1, 202, health="up")])
    async with ctx.transaction() as tx:
        tx.session.add(InboxItem(activity_id="https://r.example/a", recipient="shared", actor_uri="https://r.example/u",
                                 activity_type="Like", payload={}, state="retry",
                                 state_changed_at=utcnow() - timedelta(minutes=10)))
    text = await (await client.get("/metrics")).text()
    assert sample(text, sent) == before + 1
    assert sample(text, 'cara_fed_backlog_rows{kind="inbox",state="retry"}') == 1.0
    assert 590 <= sample(text, 'cara_fed_backlog_oldest_seconds{kind="inbox"}') < 900
