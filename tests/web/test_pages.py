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
