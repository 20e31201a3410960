"""[cache] redis_url: two web processes (two apps on their own ports) share one client's rate-limit budget
through Redis — media, the client API and remote lookups; without Redis each counts alone; with Redis down,
requests go through instead of failing."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestClient

from cara_fed.config import Config, load_config
from tests.services import REDIS_HOST, REDIS_PORT, redis_url

pytestmark = pytest.mark.redis
MEDIA = "/media/ab/" + "0" * 32 + ".jpg"  # no such file: 404 until the limit answers 429 first
REDIS_DB = 13  # tests use 15 (and 14); this file's own


def settings(tmp_path, name: str, **extra: str) -> Config:
    redis_url()  # skips cleanly without Redis
    return load_config(environ={
        "CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
        "CARA_FED__SERVER__DOMAIN": f"{name}-{uuid.uuid4().hex[:8]}.test",  # fresh keys every run
        "CARA_FED__CACHE__REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        **extra})


async def two_processes(config: Config, aiohttp_client) -> tuple[TestClient, TestClient]:  # type: ignore[no-untyped-def]
    from cara_fed_run.app import create_app

    first = await aiohttp_client(create_app(config, jobs="inline", migrate=True))
    second = await aiohttp_client(create_app(config, jobs="inline", migrate=False))
    return first, second


async def test_media_budget_is_shared_by_two_web_processes(tmp_path, aiohttp_client):
    config = settings(tmp_path, "media", CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE="4")
    first, second = await two_processes(config, aiohttp_client)
    statuses = [(await client.get(MEDIA)).status for client in (first, second, first, second)]
    assert statuses == [404, 404, 404, 404]
    for client in (first, second):  # the fifth request is refused whichever process gets it
        refused = await client.get(MEDIA)
        assert refused.status == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60


async def test_client_api_budget_and_headers_are_shared(tmp_path, aiohttp_client):
    config = settings(tmp_path, "api", CARA_FED__API__REQUESTS_PER_5_MINUTES="3")
    first, second = await two_processes(config, aiohttp_client)
    remaining = []
    for client in (first, second, first):
        response = await client.get("/api/v1/instance")
        assert response.status == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    refused = await second.get("/api/v1/instance")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1


async def test_each_process_counts_alone_without_redis(tmp_path, aiohttp_client):
    config = settings(tmp_path, "alone", CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE="2",
                      CARA_FED__CACHE__REDIS_URL="")
    first, second = await two_processes(config, aiohttp_client)
    assert [(await first.get(MEDIA)).status for _ in range(3)] == [404, 404, 429]
    assert (await second.get(MEDIA)).status == 404


async def test_redis_down_lets_requests_through(tmp_path, aiohttp_client):
    config = settings(tmp_path, "down", CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE="1",
                      CARA_FED__API__REQUESTS_PER_5_MINUTES="1", CARA_FED__CACHE__REDIS_URL="redis://127.0.0.1:1/0")
    first, _ = await two_processes(config, aiohttp_client)
    assert [(await first.get(MEDIA)).status for _ in range(3)] == [404, 404, 404]
    assert [(await first.get("/api/v1/instance")).status for _ in range(2)] == [200, 200]


def test_redis_url_is_checked(tmp_path):
    from cara_fed.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(environ={"CARA_FED__CACHE__REDIS_URL": "127.0.0.1:6379"})
    assert any("[cache] redis_url" in p for p in caught.value.problems)
