"""Open redirects after login (issue 12, defect 5): only same-origin paths survive `next=`, through real HTTP."""

from pathlib import Path

import pytest
from yarl import URL

from tests.conftest import csrf_from, sign_up

HOSTILE = ["//evil.example/", "/%09/evil.example/", "/\t/evil.example/", "/%0d%0a/evil.example/", "/\r\n/evil.example/",
           "/\\evil.example/", "/%5cevil.example/", "/%2f/evil.example/", "/%252f%252fevil.example/",
           "https://evil.example/", "javascript:alert(1)", "evil.example", "/%0a/evil.example"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:  # redirects do not depend on the database: SQLite is enough
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def log_in(client, next_value: str):  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    token = await csrf_from(client, "/login")
    return await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "right password",
                                             "next": next_value}, allow_redirects=False)


async def test_login_next_never_leaves_the_site(client):
    await sign_up(client, "ada", password="right password")
    for hostile in HOSTILE:
        response = await log_in(client, hostile)
        assert response.status == 303, hostile
        assert response.headers["Location"] == "/", f"{hostile!r} -> {response.headers['Location']!r}"


async def test_login_next_keeps_same_site_paths(client):
    await sign_up(client, "ada", password="right password")
    for good in ["/settings", "/@ada?tab=works#top", "/jobs/3", "/tags/ink%20wash"]:
        response = await log_in(client, good)
        assert response.headers["Location"] == good


async def test_login_form_does_not_echo_a_hostile_next(client):
    page = await (await client.get("/login", params={"next": "/%09/evil.example/"})).text()
    assert 'name="next" value=""' in page
    page = await (await client.get("/login", params={"next": "/settings"})).text()
    assert 'name="next" value="/settings"' in page


async def test_sign_in_wall_sends_back_to_the_same_page_with_its_query(client):
    response = await client.get("/settings?tab=profile", allow_redirects=False)
    assert response.status == 303
    location = URL(response.headers["Location"])
    assert location.path == "/login" and location.query["next"] == "/settings?tab=profile"
