"""Links and redirects that strangers can steer (issue 12), through real HTTP: only same-origin paths survive
`next=` after login (defect 5), and only http(s) URLs from remote documents become links (defect 6)."""

import re
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


HOSTILE_URLS = ["javascript:alert(document.domain)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
                "java\tscript:alert(1)", "vbscript:msgbox(1)", "//evil.example/x", "https:/no-host"]


async def test_remote_actor_urls_become_links_only_when_http(client, ctx):
    """A remote actor's `url` (and its profile links) are written by strangers (issue 12, defect 6)."""
    from cara_fed.models import Account

    async with ctx.transaction() as tx:
        for i, url in enumerate(HOSTILE_URLS):
            tx.session.add(Account(uri=f"https://remote.example/users/m{i}", username=f"m{i}", domain="remote.example",
                                   display_name=f"Mallory {i}", url=url, links=[{"name": "Site", "url": url}]))
        tx.session.add(Account(uri="https://remote.example/users/ok", username="ok", domain="remote.example",
                               display_name="Okay", url="https://remote.example/@ok",
                               links=[{"name": "Site", "url": "https://ok.example/"}]))
    for i, url in enumerate(HOSTILE_URLS):
        response = await client.get(f"/@m{i}@remote.example")
        assert response.status == 200
        page = await response.text()
        assert "Mallory" in page
        for scheme in ("javascript:", "vbscript:", "data:text", "//evil.example", "https:/no-host"):
            assert f'href="{scheme}'.lower() not in page.lower(), (url, scheme)
    good = await (await client.get("/@ok@remote.example")).text()
    assert 'href="https://remote.example/@ok"' in good


def test_web_url_accepts_only_absolute_http_urls():
    from web.links import web_url

    for bad in [*HOSTILE_URLS, "", None, 42, "ftp://x.example/", "https://exa mple.org/", "http://x.example/\n"]:
        assert web_url(bad) == "", bad
    for good in ["https://example.org/", "http://example.org:8080/a?b=c#d", "HTTPS://EXAMPLE.ORG/x"]:
        assert web_url(good) == good


TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
# Expressions that only ever yield our own paths; anything else in an href must go through `| web_url`.
LOCAL_HREFS = re.compile(r"^(profile_path|artwork_path|job_path|static_url)\("
                         r"|^(base|back|here|links\.prev|links\.next)$|\| media_url$|^'/")


def test_no_template_makes_an_unfiltered_expression_into_a_link():
    offenders = []
    for template in sorted(TEMPLATES.glob("*.html")):
        for expr in re.findall(r"""(?:href|src|action|formaction)\s*=\s*["']\{\{\s*(.*?)\s*\}\}""",
                               template.read_text()):
            if "| web_url" not in expr and not LOCAL_HREFS.search(expr) and not expr.startswith("url_for"):
                offenders.append(f"{template.name}: {expr}")
    assert offenders == [], "remote URLs must be filtered with `| web_url`:\n" + "\n".join(offenders)
