"""Issue 16 items 11-18 (pages) over real HTTP: what the server answers, on SQLite and PostgreSQL.
What only a browser can show (layout, the viewer, axe) is in tests/flows/test_pages_browser.py."""

from __future__ import annotations

import re

from aiohttp import FormData

from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload


async def test_edit_page_reorders_removes_and_adds_images(client):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(320, 240), "one"), ("b.png", images.png(200, 300), "two"),
                                      ("c.jpg", images.jpeg(300, 300), "three")])).headers["Location"]
    work_id = location.rsplit("/", 1)[1]
    edit_page = await (await client.get(f"/artworks/{work_id}/edit")).text()
    assert 'enctype="multipart/form-data"' in edit_page
    ids = re.findall(r'name="order_image_(\d+)"', edit_page)
    assert len(ids) == 3 and 'name="remove_image_' in edit_page and 'id="images"' in edit_page
    token = await csrf_from(client, f"/artworks/{work_id}/edit")
    form = FormData()
    for key, value in [("csrf_token", token), ("title", "Ferries"), ("license", "all-rights-reserved"),
                       ("visibility", "public"), ("noai", "on"), (f"order_image_{ids[0]}", "3"),
                       (f"order_image_{ids[1]}", "1"), (f"remove_image_{ids[2]}", "on"), (f"order_image_{ids[2]}", "2"),
                       ("alt_0", "four, added on edit")]:
        form.add_field(key, value)
    form.add_field("images", images.png(240, 160), filename="d.png", content_type="image/png")
    saved = await client.post(f"/artworks/{work_id}/edit", data=form, allow_redirects=False)
    assert saved.status == 303, await saved.text()
    html = await (await client.get(location)).text()
    alts = re.findall(r'<img class="full[^"]*"[^>]* alt="([^"]*)"', html)
    assert alts == ["two", "one", "four, added on edit"], alts
    assert 'alt="three"' not in html


async def test_edit_page_explains_a_refused_image_edit(client):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(), "one")])).headers["Location"]
    work_id = location.rsplit("/", 1)[1]
    edit_page = await (await client.get(f"/artworks/{work_id}/edit")).text()
    [image_id] = re.findall(r'name="order_image_(\d+)"', edit_page)
    token = await csrf_from(client, f"/artworks/{work_id}/edit")
    refused = await client.post(f"/artworks/{work_id}/edit", data={
        "csrf_token": token, "title": "Ferries", f"remove_image_{image_id}": "on", f"order_image_{image_id}": "x"})
    assert refused.status == 400
    assert "An artwork needs at least one image" in await refused.text()
    assert 'alt="one"' in await (await client.get(location)).text()


async def test_studio_reminds_the_artist_of_images_without_alt_text(client):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(), "described"), ("b.png", images.png(), "")])
                ).headers["Location"]
    html = await (await client.get(location)).text()
    assert "1 of 2 images have no description (alt text) yet" in html
    assert f'<a href="/artworks/{location.rsplit("/", 1)[1]}/edit">Add alt text</a>' in html
    client.session.cookie_jar.clear()
    assert "no description" not in await (await client.get(location)).text()  # only the artist is nudged


async def test_login_lands_on_the_feed_unless_next_says_otherwise(client):
    await sign_up(client, "ada", password="right password")
    client.session.cookie_jar.clear()
    for form_next, landing in (("", "/feed"), ("/settings", "/settings")):
        token = await csrf_from(client, "/login")
        response = await client.post("/login", data={"csrf_token": token, "login": "ada", "password": "right password",
                                                     "next": form_next}, allow_redirects=False)
        assert response.headers["Location"] == landing
        client.session.cookie_jar.clear()


async def test_static_css_and_js_are_fingerprinted_cached_and_gzipped(client):
    html = await (await client.get("/about")).text()
    css = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{12})"', html)
    assert css, "the stylesheet link carries no fingerprint"
    long = await client.get(css.group(1), headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert long.status == 200 and long.headers["Content-Encoding"] == "gzip"
    assert "immutable" in long.headers["Cache-Control"] and "max-age=31536000" in long.headers["Cache-Control"]
    plain = await client.get("/static/style.css", headers={"Accept-Encoding": "identity"})
    assert "immutable" not in plain.headers["Cache-Control"] and "Content-Encoding" not in plain.headers
    assert len(await long.read()) * 3 < len(await plain.read())  # CSS compresses well
    page = await client.get("/about", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert page.headers.get("Content-Encoding") == "gzip" and "Accept-Encoding" in page.headers.get("Vary", "")
    assert (await client.get("/static/../pyproject.toml")).status == 404


async def test_derivatives_come_in_intermediate_widths_with_sizes(client):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(3000, 2000), "wide")])).headers["Location"]
    portfolio = await (await client.get("/@ada")).text()
    srcset = re.search(r'<img class="[^"]*" src="[^"]+" srcset="([^"]+)" sizes="([^"]+)"', portfolio)
    assert srcset, portfolio
    widths = sorted(int(w) for w in re.findall(r" (\d+)w", srcset.group(1)))
    assert widths == [400, 640, 960, 1280, 2560] and "vw" in srcset.group(2)
    assert 'class="card ar-15"' in portfolio  # a 3:2 work keeps its shape in the justified rows
    assert location


async def test_portfolio_shows_pinned_works_once_and_works_before_about(client):
    await sign_up(client, "ada")
    ids = []
    for title in ("Pinned heron", "Plain ferry"):
        location = (await upload(client, [("a.jpg", images.jpeg(), title)], title=title)).headers["Location"]
        ids.append(location.rsplit("/", 1)[1])
    token = await csrf_from(client, "/upload")
    await client.post(f"/artworks/{ids[0]}/pin", data={"csrf_token": token, "pinned": "on"})
    html = await (await client.get("/@ada")).text()
    assert html.count(">Pinned heron<") == 1 and html.count(">Plain ferry<") == 1
    assert html.index('id="pinned-h"') < html.index('id="works-h"') < html.index('id="about-h"')
    assert 'href="/settings#banner">Add a banner</a>' in html


async def test_small_wording_defects(client, ctx):
    from cara_fed import queries
    from cara_fed.services import comments, follows

    await sign_up(client, "bea")
    client.session.cookie_jar.clear()
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(), "one")])).headers["Location"]
    async with ctx.sessions() as session:
        ada, bea = await queries.local_account(session, "ada"), await queries.local_account(session, "bea")
    await comments.post(ctx, bea, int(location.rsplit("/", 1)[1]), "Lovely")
    await follows.request_follow(ctx, bea, ada)
    html = await (await client.get(location)).text()
    assert re.search(r'<span class="comment-count">1</span> comment</a>', html), "1 comments"
    notes = re.sub(r"\s+", " ", await (await client.get("/notifications")).text())
    assert "followed you" in notes and "see it" not in notes
    footer = re.sub(r"\s+", " ", html[html.index("<footer"):])  # the default instance name is "cara-fed"
    assert "cara-fed runs" not in footer and "A federated home for artists, running <a" in footer


async def test_settings_change_password_and_email(client):
    await sign_up(client, "ada", password="old password 1")
    token = await csrf_from(client, "/settings")
    settings = await (await client.get("/settings")).text()
    assert "Suggest my profile to others" in settings and "Include my works in search" in settings
    wrong = await client.post("/settings/sign-in", data={"csrf_token": token, "current_password": "nope",
                                                         "new_password": "new password 2"})
    assert wrong.status == 400 and "Your current password is not right." in await wrong.text()
    short = await client.post("/settings/sign-in", data={"csrf_token": token, "current_password": "old password 1",
                                                         "new_password": "short"})
    assert short.status == 400 and "Use at least 8 characters." in await short.text()
    ok = await client.post("/settings/sign-in", data={"csrf_token": token, "current_password": "old password 1",
                                                      "new_password": "new password 2", "new_email": "Ada@New.example"},
                           allow_redirects=False)
    assert ok.status == 303
    assert "Your email is ada@new.example." in await (await client.get("/settings")).text()  # still signed in
    client.session.cookie_jar.clear()
    for password, status in (("old password 1", 401), ("new password 2", 303)):
        login = await csrf_from(client, "/login")
        response = await client.post("/login", data={"csrf_token": login, "login": "ada@new.example",
                                                     "password": password}, allow_redirects=False)
        assert response.status == status
