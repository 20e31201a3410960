"""Uploading artworks through HTTP: validation, processing, pages, edit, delete — on SQLite and PostgreSQL."""

import re

from aiohttp import FormData
from sqlalchemy import func, select

from cara_fed.models import Artwork, MediaAsset
from tests import images
from tests.conftest import csrf_from, sign_up


def upload_form(token: str, files: list[tuple[str, bytes, str]], **fields: str) -> FormData:
    form = FormData()
    form.add_field("csrf_token", token)
    defaults = {"title": "Night ferry", "description": "Ink *and* wash", "tags": "ink, Night Sky", "noai": "on",
                "license": "all-rights-reserved", "visibility": "public", "field": "Illustration"}
    for key, value in {**defaults, **fields}.items():
        form.add_field(key, value)
    for index, (name, data, alt) in enumerate(files):
        form.add_field("images", data, filename=name, content_type="application/octet-stream")
        form.add_field(f"alt_{index}", alt)
    return form


async def upload(client, files, **fields):  # type: ignore[no-untyped-def]
    token = await csrf_from(client, "/upload")
    return await client.post("/upload", data=upload_form(token, files, **fields), allow_redirects=False)


async def count(ctx, model) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_upload_processes_and_shows_in_portfolio(client, ctx):
    await sign_up(client, "ada")
    response = await upload(client, [("a.jpg", images.jpeg(3000, 2000), "A ferry at night"),
                                     ("b.png", images.png(500, 800), "Detail of the deck")])
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/@ada/\d+", location)
    page = await client.get(location)
    html = await page.text()
    assert page.status == 200
    assert 'alt="A ferry at night"' in html and 'alt="Detail of the deck"' in html
    assert page.headers["X-Robots-Tag"] == "noai, noimageai"
    assert '<meta name="robots" content="noai, noimageai">' in html
    assert '<a href="/tags/nightsky">#nightsky</a>' in html
    media_urls = re.findall(r'/media/[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp)', html)
    assert media_urls
    media = await client.get(media_urls[0])
    assert media.status == 200
    assert media.headers["X-Robots-Tag"] == "noai, noimageai"
    assert "immutable" in media.headers["Cache-Control"]
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
        assert work.state == "published" and work.published_at is not None
        first = work.images[0].asset
        assert (first.width, first.height) == (3000, 2000)
        assert first.blurhash and {d.long_edge for d in first.derivatives} == {2560, 1280, 960, 640, 400}
        assert {d.format for d in first.derivatives} == {"webp", "jpeg"}
    portfolio = await (await client.get("/@ada")).text()
    assert "Night ferry" in portfolio
    home = await (await client.get("/")).text()
    assert "Night ferry" in home


async def test_originals_never_get_a_url(client, ctx):
    await sign_up(client, "ada")
    await upload(client, [("a.jpg", images.jpeg(), "x")])
    async with ctx.sessions() as session:
        asset = await session.scalar(select(MediaAsset))
    assert (ctx.storage.root / "private" / asset.original_key).is_file()
    for guess in (f"/media/{asset.original_key}", f"/media/../private/{asset.original_key}",
                  f"/media/{asset.original_key}.jpg"):
        assert (await client.get(guess)).status == 404


async def test_hostile_uploads_are_refused_with_a_reason_and_store_nothing(client, ctx):
    await sign_up(client, "ada")
    cases = [
        (("notes.png", b"just some text, not an image\n" * 10, "x"), "notes.png: this file is not an image we can use"),
        (("bomb.png", images.png_bomb(), "x"), "the image is 50000×50000 pixels; the limit is 60 megapixels"),
        (("broken.jpg", images.corrupt_jpeg(), "x"), None),
    ]
    too_big = ctx.config.media.max_upload_mb * 1024 * 1024 + 1
    sizes = await upload(client, [("huge.jpg", b"\xff\xd8\xff" + b"\0" * too_big, "x")])
    assert sizes.status == 400
    assert f"huge.jpg: The file is just over the {ctx.config.media.max_upload_mb} MB limit." in await sizes.text()
    for file, message in cases:
        response = await upload(client, [file])
        body = await response.text()
        if message:  # refused at once, before anything is stored
            assert response.status == 400
            assert message in body.lower()
        else:  # refused by the pipeline: the artwork shows why, nothing public was written
            assert response.status == 303
            page = await (await client.get(response.headers["Location"])).text()
            assert "could not be processed" in page.lower()
    async with ctx.sessions() as session:
        rejected = (await session.scalars(select(MediaAsset).where(MediaAsset.state == "rejected"))).all()
        reasons = {a.error_code: a.error_message for a in rejected}
    assert list(reasons) == ["corrupt"]  # the bomb never got a row: it was refused at the door
    assert not any((ctx.storage.root / "public").rglob("*.jpg"))
    # Only the corrupt JPEG (whose header looks fine) reached the pipeline; the others wrote nothing.
    assert await count(ctx, MediaAsset) == 1


async def test_missing_fields_and_too_many_images(client, ctx):
    await sign_up(client, "ada")
    no_title = await upload(client, [("a.jpg", images.jpeg(), "x")], title="  ")
    assert no_title.status == 400
    assert "Give the artwork a title." in await no_title.text()
    no_image = await upload(client, [])
    assert "Add at least one image." in await no_image.text()
    limit = ctx.config.media.max_images_per_artwork
    many = await upload(client, [(f"{i}.png", images.png(20, 20), "") for i in range(limit + 1)])
    assert f"at most {limit} images" in await many.text()
    assert await count(ctx, Artwork) == 0
    async with ctx.sessions() as session:  # the refused forms' files are only kept as private drafts
        purposes = set((await session.scalars(select(MediaAsset.purpose))).all())
    assert purposes == {"draft"}


async def test_description_script_is_neutralized(client):
    await sign_up(client, "ada")
    response = await upload(client, [("a.jpg", images.jpeg(), "x")],
                            description='Look <script>alert("x")</script> **bold** [y](javascript:alert(1))')
    html = await (await client.get(response.headers["Location"])).text()
    assert "<strong>bold</strong>" in html
    assert '<script>alert("x")' not in html and 'href="javascript:' not in html


async def test_edit_pin_and_delete(client, ctx):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(), "old alt")])).headers["Location"]
    artwork_id = int(location.rsplit("/", 1)[1])
    async with ctx.sessions() as session:
        image_id = (await session.get(Artwork, artwork_id)).images[0].id
    token = await csrf_from(client, f"/artworks/{artwork_id}/edit")
    edited = await client.post(f"/artworks/{artwork_id}/edit", data={
        "csrf_token": token, "title": "Day ferry", "description": "", "tags": "sun", "license":
        "https://creativecommons.org/licenses/by/4.0/", "visibility": "unlisted", f"alt_image_{image_id}": "new alt"},
        allow_redirects=False)
    assert edited.status == 303
    html = await (await client.get(location)).text()
    assert "Day ferry" in html and 'alt="new alt"' in html and "CC BY 4.0" in html
    assert "NoAI" in html  # still shown on the profile
    assert "Day ferry" not in await (await client.get("/")).text()  # unlisted: not in public feeds
    await client.post(f"/artworks/{artwork_id}/pin", data={"csrf_token": token, "pinned": "on"})
    assert "Pinned" in await (await client.get("/@ada")).text()
    gone = await client.post(f"/artworks/{artwork_id}/delete", data={"csrf_token": token}, allow_redirects=False)
    assert gone.status == 303
    assert (await client.get(location)).status == 404
    assert await count(ctx, MediaAsset) == 0
    assert not any(p.is_file() for p in ctx.storage.root.rglob("*"))


async def test_someone_elses_artwork_cannot_be_edited(client):
    await sign_up(client, "ada")
    location = (await upload(client, [("a.jpg", images.jpeg(), "x")])).headers["Location"]
    artwork_id = location.rsplit("/", 1)[1]
    client.session.cookie_jar.clear()
    await sign_up(client, "bob")
    assert (await client.get(f"/artworks/{artwork_id}/edit")).status == 404
    token = await csrf_from(client, "/upload")
    refused = await client.post(f"/artworks/{artwork_id}/delete", data={"csrf_token": token})
    assert refused.status == 403
    assert (await client.get(location)).status == 200


async def test_projects(client):
    await sign_up(client, "ada")
    ids = []
    for title in ("One", "Two", "Three"):
        location = (await upload(client, [("a.jpg", images.jpeg(), title)], title=title)).headers["Location"]
        ids.append(location.rsplit("/", 1)[1])
    token = await csrf_from(client, "/projects/new")
    form = FormData([("csrf_token", token), ("title", "Ferries"), ("description", "Boats *at sea*"),
                     ("artworks", ids[2]), ("artworks", ids[0]), ("cover", ids[0])])
    response = await client.post("/projects/new", data=form, allow_redirects=False)
    assert response.status == 303
    html = await (await client.get(response.headers["Location"])).text()
    assert html.index(">Three<") < html.index(">One<") and ">Two<" not in html
    assert "<em>at sea</em>" in html
    assert "Ferries" in await (await client.get("/@ada")).text()
    bad = await client.post("/projects/new", data=FormData([("csrf_token", token), ("title", "")]))
    assert "Give the project a title." in await bad.text()


async def test_pages_404_and_pagination(client):
    assert (await client.get("/@nobody")).status == 404
    assert "There is no artist called @nobody here." in await (await client.get("/@nobody")).text()
    assert (await client.get("/?before=abc")).status == 400
    await sign_up(client, "ada")
    for i in range(26):
        await upload(client, [("a.png", images.png(40, 40), "")], title=f"Work {i}")
    first = await (await client.get("/")).text()
    assert "Work 25" in first and "Work 1<" not in first
    older = re.search(r'href="/\?before=(\d+)"', first)
    assert older
    second = await (await client.get(f"/?before={older.group(1)}")).text()
    assert "Work 0" in second and "Work 25" not in second
    for signed_in in (True, False):  # the portfolio pages the same way (its cards: cara_fed/queries_cards.py)
        if not signed_in:
            client.session.cookie_jar.clear()
        first = await (await client.get("/@ada")).text()
        assert "Work 25" in first and "Work 1<" not in first
        older = re.search(r'href="/@ada\?before=(\d+)"', first)
        assert older
        second = await (await client.get(f"/@ada?before={older.group(1)}")).text()
        assert "Work 0<" in second and "Work 1<" in second and "Work 25" not in second
