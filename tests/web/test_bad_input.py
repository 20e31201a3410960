"""Issue 12, defect 8 over real HTTP on SQLite and PostgreSQL: bad numbers, NUL bytes, deep JSON, huge URLs and
a database that is down all get a clear 4xx/503, never a 500 or an ERROR traceback in the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from cara_fed.config import load_config
from tests.conftest import csrf_from, sign_up
from tests.web.api_support import account_with_token, auth

BIG4 = str(2**31)  # past PostgreSQL's int4 ids
BIG8 = str(2**63)  # past SQLite's (and bigint's) signed 64-bit
HUGE = "9" * 40
UNICODE = ["²", "٣", "①", "𝟗"]  # str.isdigit() says yes to all; int() refuses the first and third


def server_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def statuses(client, paths: list[str], method: str = "GET", **kw) -> dict[str, int]:  # type: ignore[no-untyped-def]
    found = {}
    for path in paths:
        response = await client.request(method, path, allow_redirects=False, **kw)
        found[path] = response.status
    return found


async def test_unicode_digits_and_ids_past_the_database_range_are_4xx(client, caplog):
    await sign_up(client, "ada")
    _account, token = await account_with_token(client, "bob")
    numbers = [*UNICODE, BIG4, BIG8, HUGE]
    pages = [f"/?before={n}" for n in numbers] + [f"/jobs?page={n}" for n in numbers] \
        + [f"/jobs?min_pay={n}" for n in numbers] + [f"/notifications?before={n}" for n in numbers] \
        + [f"/@ada?before={n}" for n in numbers] + [f"/feed?before={n}" for n in numbers] \
        + [f"/@ada/{n}" for n in numbers] + [f"/jobs/{n}" for n in numbers] \
        + [f"/artworks/{n}/protection" for n in numbers] + [f"/artworks/{n}/edit" for n in numbers] \
        + [f"/accounts/{n}/report" for n in numbers] + [f"/@ada/projects/{n}" for n in numbers] \
        + [f"/projects/{n}/edit" for n in numbers] + [f"/@bob@example.org/{n}" for n in numbers]
    found = await statuses(client, pages)
    assert all(status < 500 for status in found.values()), {p: s for p, s in found.items() if s >= 500}
    assert found["/?before=²"] == 400 and found[f"/?before={HUGE}"] == 400
    assert found[f"/?before={BIG4}"] == 200  # past every id: simply the newest page
    assert found["/jobs?page=²"] == 400 and found["/jobs?min_pay=²"] == 400
    assert found[f"/@ada/{BIG4}"] == 404 and found[f"/jobs/{BIG8}"] == 404 and found["/jobs/٣"] == 404

    token_paths = [f"/api/v1/accounts/{n}" for n in numbers] + [f"/api/v1/statuses/{n}" for n in numbers] \
        + [f"/api/v1/timelines/public?max_id={n}" for n in numbers] \
        + [f"/api/v1/timelines/public?limit={n}" for n in numbers] \
        + [f"/api/v1/notifications/{n}" for n in numbers] + [f"/api/v1/media/{n}" for n in numbers] \
        + [f"/api/v1/accounts/relationships?id[]={n}" for n in numbers] \
        + [f"/api/v2/search?q=a&limit={n}&offset={n}" for n in numbers] \
        + [f"/api/v1/cara/jobs?page={n}&min_pay={n}" for n in numbers]
    found = await statuses(client, token_paths, headers=auth(token))
    assert all(status < 500 for status in found.values()), {p: s for p, s in found.items() if s >= 500}
    assert found[f"/api/v1/accounts/{BIG4}"] == 404 and found["/api/v1/statuses/²"] == 404
    assert found["/api/v1/timelines/public?max_id=²"] == 400

    # Forms posting ids: comment replies, reports, a project's works, and the API's id lists.
    token_form = await csrf_from(client, "/upload")
    posts = {f"/artworks/{BIG4}/comments": {"content": "hi", "parent_id": "²"},
             "/projects/new": {"title": "P", "artworks": ["²", BIG8], "cover": HUGE},
             "/notifications/read": {"ids": ["²", BIG8]}}
    for path, data in posts.items():
        response = await client.post(path, data={"csrf_token": token_form, **data}, allow_redirects=False)
        assert response.status < 500, (path, response.status, await response.text())
    for body in ({"status": "x", "media_ids": ["²"]}, {"status": "x", "media_ids": [BIG8]},
                 {"status": "x", "in_reply_to_id": HUGE}):
        response = await client.post("/api/v1/statuses", json=body, headers=auth(token))
        assert 400 <= response.status < 500, (body, response.status, await response.text())
    assert server_errors(caplog) == []


async def test_nul_bytes_in_path_query_and_forms_are_400(client, caplog):
    await sign_up(client, "ada")
    for path in ("/search?q=a%00b", "/jobs?q=%00", "/tags/a%00b", "/@ada?x%00=1", "/api/v1/accounts/lookup?acct=a%00"):
        response = await client.get(path)
        assert response.status == 400, (path, response.status)
    token = await csrf_from(client, "/settings")
    response = await client.post("/settings", data={"csrf_token": token, "display_name": "A\x00da", "bio": "x"})
    assert response.status == 400 and "NUL" in await response.text()
    response = await client.post("/login", data={"csrf_token": token, "username": "ada\x00", "password": "x"})
    assert response.status in (400, 403)
    # JSON bodies to the client API keep their text but lose the NUL (the database cannot store it).
    _account, api_token = await account_with_token(client, "bob")
    response = await client.patch("/api/v1/accounts/update_credentials", json={"display_name": "B\x00ob"},
                                  headers=auth(api_token))
    assert response.status == 200, await response.text()
    assert (await response.json())["display_name"] == "Bob"
    assert server_errors(caplog) == []


async def test_api_json_nested_too_deep_is_400(client, caplog):
    # 20,000 deep stays under the anonymous 64 KiB body cap (web/limits.py), so the depth limit answers.
    body = '{"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "x": ' + "[" * 20_000 \
        + "]" * 20_000 + "}"
    response = await client.post("/api/v1/apps", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400, await response.text()
    _account, token = await account_with_token(client, "bob")
    body = '{"status": "x", "poll": ' + "{\"a\": " * 200 + "1" + "}" * 200 + "}"
    response = await client.post("/api/v1/statuses", data=body,
                                 headers={"Content-Type": "application/json", **auth(token)})
    assert response.status == 400, await response.text()
    assert server_errors(caplog) == []


async def test_urls_over_8kb_are_400_with_a_short_log_line(client, caplog):
    caplog.set_level(logging.INFO)
    for size in (9_000, 100_000):
        response = await client.get("/search?q=" + "a" * size)
        assert response.status in (400, 414)
    response = await client.get("/", headers={"X-Long": "b" * 20_000})
    assert response.status in (400, 431)
    assert server_errors(caplog) == []
    refused = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert refused and all(r.exc_info is None and len(r.getMessage()) < 400 for r in refused)


@pytest.fixture
def database_down(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An instance whose PostgreSQL is unreachable (nothing listens on port 1)."""
    return load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
                                "CARA_FED__DATABASE__URL": "postgresql+asyncpg://postgres@127.0.0.1:1/gone",
                                "CARA_FED__SERVER__DOMAIN": "test.example"})


async def test_database_down_is_503_json_for_machines_and_a_page_for_people(database_down, aiohttp_client,
                                                                             caplog):
    from cara_fed_run.app import create_app

    client = await aiohttp_client(create_app(database_down, jobs="inline", migrate=False))
    machines = [("/.well-known/webfinger?resource=acct:ada@test.example", "application/jrd+json"),
                ("/users/ada", "application/activity+json"), ("/@ada", "application/activity+json"),
                ("/nodeinfo/2.0", "application/json"), ("/api/v1/timelines/public", "application/json")]
    for path, accept in machines:
        response = await client.get(path, headers={"Accept": accept})
        assert response.status == 503, (path, response.status)
        assert response.content_type == "application/json" and response.headers["Retry-After"]
        assert "database" in (await response.json())["error"]
    for path in ("/", "/@ada", "/jobs"):
        response = await client.get(path, headers={"Accept": "text/html"})
        assert response.status == 503 and response.content_type == "text/html"
        assert "Temporarily unavailable" in await response.text()
    assert server_errors(caplog) == []
