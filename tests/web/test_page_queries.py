"""Issue 15 (uncached pages): the SQL statements a page costs stay few, and do not grow with the number of works
shown (N+1 guard). Counted at the engine — every statement the database really receives — over real HTTP, on
SQLite and PostgreSQL, with the page cache off so every request renders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event

from cara_fed.config import Config, load_config
from cara_fed.context import CONTEXT_KEY
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload

# Statements per uncached page, anonymous and signed in as someone other than the artist (bench/page_profile.py
# lists them). Before issue 15's work (anonymous, demo data): portfolio 19, artwork 14, home 7.
# Cards as plain rows (cara_fed/queries_cards.py: works, then images with assets and derivatives; authors' avatars
# one more statement on home and feed when any author has one) took portfolio 7->5 (signed in 9->7),
# home 4->3 (5->4), feed 5->4. The artwork page's works as plain rows too (cara_fed/queries_artwork.py: works, images,
# the shown work's tags; the "more" works' tags no longer loaded): artwork 7->6 (signed in 9->8).
# The portfolio asks for projects and open jobs only when its artist has any (queries.portfolio_artist): with a
# project and no job post, 5->4 (signed in 7->6); with neither, 3.
# The artwork page reads its comment thread only when the work has a visible comment (queries_social): 6->5 (8->7).
BOUNDS = {("portfolio", False): 4, ("artwork", False): 5, ("home", False): 3,
          ("portfolio", True): 6, ("artwork", True): 7, ("home", True): 4, ("feed", True): 4}


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data"),
                                "CARA_FED__DATABASE__URL": database_url, "CARA_FED__SERVER__DOMAIN": "test.example",
                                "CARA_FED__CACHE__PAGE_SECONDS": "0"})


@contextmanager
def counting(client) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = client.app[CONTEXT_KEY].engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


async def statements_for(client, path: str) -> int:  # type: ignore[no-untyped-def]
    await client.get(path)  # once first: anything a previous write left to do is done
    with counting(client) as statements:
        answer = await client.get(path)
        assert answer.status == 200, await answer.text()
    return len(statements)


async def add_works(client, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Upload `count` works as the signed-in artist, pin the first, and gather them all into a new project."""
    ids = []
    for index in range(count):
        answer = await upload(client, [("a.jpg", images.jpeg(64, 48), f"work {index}")], title=f"Work {index}")
        assert answer.status == 303, await answer.text()
        ids.append(answer.headers["Location"].rsplit("/", 1)[1])
    token = await csrf_from(client, "/upload")
    pinned = await client.post(f"/artworks/{ids[0]}/pin", data={"csrf_token": token, "pinned": "on"},
                               allow_redirects=False)
    assert pinned.status == 303
    project = await client.post("/projects/new", data=[("csrf_token", token), ("title", f"Set of {count}"),
                                                       ("description", ""), ("cover", ids[-1]),
                                                       *[("artworks", i) for i in ids]], allow_redirects=False)
    assert project.status == 303, await project.text()
    return ids


async def measure(client, work_id: str) -> dict[tuple[str, bool], int]:  # type: ignore[no-untyped-def]
    paths = {"portfolio": "/@ada", "artwork": f"/@ada/{work_id}", "home": "/", "feed": "/feed"}
    counts = {}
    client.session.cookie_jar.clear()
    for name in ("portfolio", "artwork", "home"):
        counts[(name, False)] = await statements_for(client, paths[name])
    assert (await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "bo",
                                              "password": "correct horse 1"}, allow_redirects=False)).status == 303
    for name, path in paths.items():
        counts[(name, True)] = await statements_for(client, path)
    return counts


async def test_page_statements_are_bounded_and_do_not_grow_with_the_works_shown(client):
    await sign_up(client, "bo")
    client.session.cookie_jar.clear()
    await sign_up(client, "ada")
    ids = await add_works(client, 2)
    token = await csrf_from(client, "/upload")
    client.session.cookie_jar.clear()
    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "bo",
                                      "password": "correct horse 1"}, allow_redirects=False)
    html = await (await client.get("/@ada")).text()
    account_id = re.search(r'action="/accounts/(\d+)/follow"', html).group(1)  # type: ignore[union-attr]
    token = await csrf_from(client, "/@ada")
    assert (await client.post(f"/accounts/{account_id}/follow", data={"csrf_token": token},
                              allow_redirects=False)).status == 303  # bo's feed shows ada's works
    few = await measure(client, ids[0])

    client.session.cookie_jar.clear()
    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "ada",
                                      "password": "correct horse 1"}, allow_redirects=False)
    await add_works(client, 4)  # six works, two pinned, two projects with covers
    many = await measure(client, ids[0])

    html = await (await client.get("/@ada")).text()
    assert html.count('href="/@ada/') >= 6  # the page really shows the works counted
    # The projects, read as plain rows with their works counted (queries.project_cards), newest position last.
    assert re.findall(r'<span class="card-artist">(\d+ works?)</span>', html) == ["2 works", "4 works"], html
    for case, bound in BOUNDS.items():
        assert few[case] <= bound, (case, few[case], few)
    assert many == few, {case: (few[case], many[case]) for case in few if few[case] != many[case]}


async def test_cards_read_as_plain_rows_show_what_the_models_show(client):
    """Cards (home, portfolio) are read as plain rows (cara_fed/queries_cards.py): their images offer the same
    files as the artwork page (loaded as ORM entities), and the home hero shows the author's avatar."""
    from aiohttp import FormData

    await sign_up(client, "ada")
    [work] = await add_works(client, 1)
    form = FormData()
    for key, value in {"csrf_token": await csrf_from(client, "/settings"), "display_name": "Ada L.", "bio": "",
                       "location": "", "skills": ""}.items():
        form.add_field(key, value)
    form.add_field("avatar", images.png(200, 200), filename="me.png", content_type="image/png")
    assert (await client.post("/settings", data=form, allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()

    page = await (await client.get(f"/@ada/{work}")).text()
    home = await (await client.get("/")).text()
    portfolio = await (await client.get("/@ada")).text()
    srcsets = re.findall(r'<source type="image/webp" srcset="([^"]+)"', home)
    assert srcsets and all(s in page for s in srcsets), (srcsets, page)
    assert re.search(r'<img class="avatar avatar-40" src="/media/[^"]+"', home)  # the hero's author avatar
    assert "<strong>Ada L.</strong>" in home
    assert f'href="/@ada/{work}"' in portfolio and srcsets[0] in portfolio
    assert '<span class="card-artist">1 work</span>' in portfolio  # its project of one work, in the singular


async def test_an_artists_avatar_and_banner_show_on_pages_read_without_empty_eager_loads(client):
    """The page's artist and the signed-in visitor are read without SQLAlchemy's eager loaders, then their avatar,
    banner and move are read only when they have them (cara_fed/queries_accounts.py): an account with none
    costs no more statements, and one with both shows both, anonymous and signed in, for one statement more."""
    from aiohttp import FormData

    await sign_up(client, "ada")
    [work] = await add_works(client, 1)
    client.session.cookie_jar.clear()
    bare = await statements_for(client, "/@ada")
    assert bare <= BOUNDS[("portfolio", False)]
    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "ada",
                                      "password": "correct horse 1"}, allow_redirects=False)
    form = FormData()
    for key, value in {"csrf_token": await csrf_from(client, "/settings"), "display_name": "Ada L.", "bio": "",
                       "location": "", "skills": ""}.items():
        form.add_field(key, value)
    form.add_field("avatar", images.png(200, 200), filename="me.png", content_type="image/png")
    form.add_field("banner", images.jpeg(1200, 400), filename="wide.jpg", content_type="image/jpeg")
    assert (await client.post("/settings", data=form, allow_redirects=False)).status == 303

    settings = await (await client.get("/settings")).text()  # the signed-in account, from the session lookup
    assert re.search(r'<img class="avatar avatar-64" src="/media/[^"]+"', settings), settings
    client.session.cookie_jar.clear()
    portfolio = await (await client.get("/@ada")).text()
    assert re.search(r'<img class="avatar avatar-112" src="/media/[^"]+"', portfolio), portfolio
    assert re.search(r'<div class="banner">\s*<img src="/media/[^"]+" srcset="/media/', portfolio), portfolio
    artwork = await (await client.get(f"/@ada/{work}")).text()
    assert "Ada L." in artwork
    assert await statements_for(client, "/@ada") == bare + 1  # the avatar and banner, with their files, at once


async def test_cards_are_rendered_once_and_a_changed_work_or_author_never_shows_an_old_card(client):
    """Grids reuse a card's HTML by the rows it was read from (web/card_memo.py): a second view of a page takes
    its cards from the memo, and a new title, a new cover or the artist's new name reads other rows, so the next
    view shows them (the page cache is off here: every view reads the database)."""
    from aiohttp import FormData

    from web.keys import JINJA

    memo = client.app[JINJA].globals["cards_html"].__self__
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(320, 240), "first image"),
                                      ("b.png", images.png(200, 300), "second image")],
                             title="Harbour")).headers["Location"]
    work_id = location.rsplit("/", 1)[1]
    client.session.cookie_jar.clear()

    def card(html: str) -> str:
        found = re.search(rf'<li class="card[^"]*">\s*<a href="/@ada/{work_id}".*?</li>', html, re.S)
        assert found, html
        return found.group(0)

    first = card(await (await client.get("/@ada")).text())
    hits = memo.hits
    again = card(await (await client.get("/@ada")).text())
    assert again == first and memo.hits > hits
    assert "Harbour" in first and 'alt="first image"' in first and "2<span class=\"sr-only\"> images)" in first

    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "ada",
                                      "password": "correct horse 1"}, allow_redirects=False)
    edit_page = await (await client.get(f"/artworks/{work_id}/edit")).text()
    first_id, second_id = re.findall(r'name="order_image_(\d+)"', edit_page)
    form = FormData()
    for key, value in [("csrf_token", await csrf_from(client, f"/artworks/{work_id}/edit")), ("title", "Ferries"),
                       ("license", "all-rights-reserved"), ("visibility", "public"), ("noai", "on"),
                       (f"order_image_{first_id}", "2"), (f"order_image_{second_id}", "1")]:
        form.add_field(key, value)
    assert (await client.post(f"/artworks/{work_id}/edit", data=form, allow_redirects=False)).status == 303
    settings = FormData()
    for key, value in {"csrf_token": await csrf_from(client, "/settings"), "display_name": "Ada Lovelace",
                       "bio": "", "location": "", "skills": ""}.items():
        settings.add_field(key, value)
    assert (await client.post("/settings", data=settings, allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()

    edited = card(await (await client.get("/@ada")).text())
    assert "Ferries" in edited and "Harbour" not in edited
    assert 'alt="second image"' in edited and 'alt="first image"' not in edited
    assert "Ada Lovelace" in card(await (await client.get("/")).text())  # the home grid names the artist


async def test_a_portfolio_reads_projects_and_jobs_only_when_its_artist_has_some(client):
    """Most artists have no project and no job post: their portfolio skips both statements (the artist's row says
    whether any exist), and shows each as soon as there is one."""
    from tests.web.test_jobs import post_job

    await sign_up(client, "ada", kind="studio")
    [work] = await add_works(client, 1)  # one work, in a project
    token = await csrf_from(client, "/@ada")
    html = await (await client.get("/@ada")).text()
    project_id = re.search(r'href="/@ada/projects/(\d+)"', html).group(1)  # type: ignore[union-attr]
    deleted = await client.post(f"/projects/{project_id}/delete", data={"csrf_token": token}, allow_redirects=False)
    assert deleted.status == 303, await deleted.text()
    client.session.cookie_jar.clear()
    bare = await statements_for(client, "/@ada")
    assert bare == 3, bare  # the artist (with both EXISTS), the works, their images
    html = await (await client.get("/@ada")).text()
    assert "projects-h" not in html and "jobs-h" not in html and f'href="/@ada/{work}"' in html

    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "ada",
                                      "password": "correct horse 1"}, allow_redirects=False)
    assert (await post_job(client, title="Background painter")).status == 303
    client.session.cookie_jar.clear()
    assert await statements_for(client, "/@ada") == bare + 1
    assert "Background painter" in await (await client.get("/@ada")).text()


async def test_an_artwork_page_reads_its_thread_only_when_the_work_has_comments(client):
    """The counts' statement says whether any visible comment exists; without one the thread is not read, and the
    first comment shows at once (page cache off)."""
    await sign_up(client, "ada")
    [work] = await add_works(client, 1)
    client.session.cookie_jar.clear()
    bare = await statements_for(client, f"/@ada/{work}")
    assert bare <= BOUNDS[("artwork", False)]
    await client.post("/login", data={"csrf_token": await csrf_from(client, "/login"), "login": "ada",
                                      "password": "correct horse 1"}, allow_redirects=False)
    token = await csrf_from(client, f"/@ada/{work}")
    posted = await client.post(f"/artworks/{work}/comments", data={"csrf_token": token, "content": "First light"},
                               allow_redirects=False)
    assert posted.status == 303, await posted.text()
    client.session.cookie_jar.clear()
    assert await statements_for(client, f"/@ada/{work}") == bare + 1
    assert "First light" in await (await client.get(f"/@ada/{work}")).text()
