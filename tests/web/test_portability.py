"""Settings → Your data over HTTP, on SQLite and PostgreSQL: CSV exports in Mastodon's format, a portfolio archive
built by the job, downloaded by its owner only, imported into a second account (originals, dates and protection
choices equal; no Create sent), retention deleting it; and every malformed CSV or archive refused with its
message and nothing created."""

from __future__ import annotations

import io
import json
import random
import re
import struct
import zipfile
from datetime import timedelta

import pytest
from aiohttp import FormData
from sqlalchemy import func, select

from cara_fed import tasks
from cara_fed.db import utcnow
from cara_fed.models import Artwork, DataExport, DataImport, MediaAsset, OutgoingActivity
from cara_fed.services import retention
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload


async def count(ctx, model, *where) -> int:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def post_file(client, path: str, field: str, data: bytes, name: str):  # type: ignore[no-untyped-def]
    form = FormData()
    form.add_field("csrf_token", await csrf_from(client, "/settings/data"))
    form.add_field(field, data, filename=name, content_type="application/octet-stream")
    return await client.post(path, data=form, allow_redirects=False)


async def login_as(client, username: str) -> None:  # type: ignore[no-untyped-def]
    client.session.cookie_jar.clear()
    response = await client.post("/login", data={"login": username, "password": "correct horse 1",
                                                 "csrf_token": await csrf_from(client, "/login")},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()


async def build_archive(client) -> bytes:  # type: ignore[no-untyped-def]
    response = await client.post("/settings/data/archive",
                                 data={"csrf_token": await csrf_from(client, "/settings/data")}, allow_redirects=False)
    assert response.status == 303, await response.text()
    page = await (await client.get("/settings/data")).text()
    export_id = re.search(r'id="export-(\d+)"', page).group(1)
    status = await (await client.get(f"/settings/data/archive/{export_id}")).json()
    assert status["state"] == "ready" and status["done"] == status["total"], status  # jobs run inline here
    download = await client.get(status["download"])
    assert download.status == 200 and download.headers["Content-Type"] == "application/zip"
    assert "private" in download.headers["Cache-Control"]
    return await download.read()


async def test_archive_round_trip_into_a_second_account(client, ctx):
    await sign_up(client, "ada")
    first = await upload(client, [("a.jpg", images.jpeg(900, 600), "A ferry at night"),
                                  ("b.png", images.png(400, 500, mode="RGB"), "Detail of the deck")],
                         title="Night ferry", license="https://creativecommons.org/licenses/by/4.0/", tags="ink, sea")
    assert first.status == 303
    second = await upload(client, [("c.jpg", images.jpeg(500, 500, colour=(10, 200, 30)), "Green field")],
                          title="Meadow", noai="", license="all-rights-reserved")
    assert second.status == 303
    async with ctx.transaction() as tx:  # an older work: its date must survive the trip
        meadow = await tx.session.scalar(select(Artwork).where(Artwork.title == "Meadow"))
        meadow.published_at = meadow.created_at = utcnow() - timedelta(days=400)
        meadow.pinned_at = utcnow() - timedelta(days=3)
    data = await build_archive(client)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        outbox = json.loads(archive.read("outbox.json"))
        originals = {image["file"]: archive.read(image["file"]) for w in manifest["works"] for image in w["images"]}
    assert manifest["format"] == "cara-fed-portfolio" and manifest["version"] == 1
    assert [w["title"] for w in manifest["works"]] == ["Meadow", "Night ferry"]
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 2
    assert {item["object"]["name"] for item in outbox["orderedItems"]} == {"Meadow", "Night ferry"}
    assert manifest["pinned"] == [manifest["works"][0]["id"]]

    # Someone else (and a visitor) cannot download it.
    url = re.search(r'href="(/settings/data/archive/\d+\.zip)"', await (await client.get("/settings/data")).text())[1]
    await sign_up(client, "bea")
    assert (await client.get(url)).status == 404
    sent_before = await count(ctx, OutgoingActivity)

    response = await post_file(client, "/settings/data/import/archive", "archive", data, "portfolio.zip")
    assert response.status == 303, await response.text()
    async with ctx.sessions() as session:
        row = await session.scalar(select(DataImport).where(DataImport.kind == "archive"))
        assert (row.state, row.done, row.total, row.failures) == ("done", 2, 2, [])
        works = (await session.scalars(select(Artwork).where(Artwork.import_id == row.id)
                                       .order_by(Artwork.created_at))).all()
        assert [w.state for w in works] == ["published", "published"]
        for old, new in zip(manifest["works"], works, strict=True):
            assert new.account.username == "bea"
            assert (new.title, new.license, new.noai, new.tag_names) == (old["title"], old["license"], old["noai"],
                                                                          old["tags"])
            assert new.published_at.isoformat() == old["published_at"]
            assert new.created_at.isoformat() == old["created_at"]
            assert (new.pinned_at.isoformat() if new.pinned_at else None) == old["pinned_at"]
            assert [i.alt_text for i in new.images] == [i["alt_text"] for i in old["images"]]
            for image, kept in zip(new.images, old["images"], strict=True):
                stored = await ctx.storage.get("private", image.asset.original_key)
                assert stored == originals[kept["file"]]  # the originals, byte for byte
    assert await count(ctx, OutgoingActivity) == sent_before  # no Create for imported works
    portfolio = await (await client.get("/@bea")).text()
    assert "Night ferry" in portfolio and "Meadow" in portfolio

    # Retention deletes the archive once its download window is over.
    async with ctx.transaction() as tx:
        export = await tx.session.scalar(select(DataExport))
        export.expires_at = utcnow() - timedelta(minutes=1)
        path = ctx.config.data_path / "exports" / export.file_name
    assert path.is_file()
    assert (await retention.prune(ctx)).exports == 1
    assert not path.exists() and await count(ctx, DataExport) == 0


async def test_csv_exports_use_mastodons_headers(client, ctx):
    for name in ("cy", "dee", "eve", "ada"):
        await sign_up(client, name)
    ids = {}
    for name in ("cy", "dee", "eve"):
        ids[name] = re.search(r"/accounts/(\d+)/follow", await (await client.get(f"/@{name}")).text()).group(1)
    for path in (f"/accounts/{ids['cy']}/follow", f"/accounts/{ids['dee']}/mute", f"/accounts/{ids['eve']}/block"):
        token = await csrf_from(client, "/@cy")
        assert (await client.post(path, data={"csrf_token": token}, allow_redirects=False)).status == 303, path
    following = await client.get("/settings/data/following_accounts.csv")
    assert following.status == 200 and following.content_type == "text/csv"
    assert "attachment" in following.headers["Content-Disposition"]
    assert await following.text() == ("Account address,Show boosts,Notify on new posts,Languages\n"
                                      "cy@test.example,true,false,\n")
    muted = await (await client.get("/settings/data/muted_accounts.csv")).text()
    assert muted == "Account address,Hide notifications\ndee@test.example,true\n"
    assert await (await client.get("/settings/data/blocked_accounts.csv")).text() == "eve@test.example\n"
    assert await (await client.get("/settings/data/followers.csv")).text() == "Account address\n"
    await login_as(client, "cy")
    assert await (await client.get("/settings/data/followers.csv")).text() == "Account address\nada@test.example\n"
    assert (await client.get("/settings/data/passwords.csv")).status == 404
    client.session.cookie_jar.clear()
    assert (await client.get("/settings/data/followers.csv", allow_redirects=False)).status == 303  # to log in


# --- bad input --------------------------------------------------------------------------------------------


def manifest(**changes) -> dict:  # type: ignore[no-untyped-def]
    work = {"id": 1, "title": "Heron", "description": "", "tags": ["bird"], "license": "all-rights-reserved",
            "visibility": "public", "noai": True, "created_at": "2024-01-02T03:04:05+00:00",
            "published_at": "2024-01-02T03:04:05+00:00",
            "images": [{"file": "originals/1-0.jpg", "alt_text": "A heron", "focal_point": [0, 0]}]}
    return {"format": "cara-fed-portfolio", "version": 1, "works": [work], "projects": [], **changes}


def make_zip(entries: dict[str, bytes] | None = None, *, meta: dict | bytes | None = None,
             infos: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:  # type: ignore[assignment]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if meta is not None:
            archive.writestr("manifest.json", meta if isinstance(meta, bytes) else json.dumps(meta))
        for name, data in (entries if entries is not None else {"originals/1-0.jpg": images.jpeg(200, 150)}).items():
            archive.writestr(name, data)
        for info, data in infos:
            archive.writestr(info, data)
    return out.getvalue()


def lying_sizes() -> bytes:
    """A valid archive whose directory says the original is 100 bytes (it is far more): patched in place."""
    data = bytearray(make_zip(meta=manifest()))
    name = b"originals/1-0.jpg"
    central = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:data.index(b"PK\x01\x02") + 4], 0)
    while data[central + 46:central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 100)  # uncompressed size in the central directory
    local = struct.unpack_from("<I", data, central + 42)[0]
    struct.pack_into("<I", data, local + 22, 100)  # and in the local header
    return bytes(data)


def symlink_entry() -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo("originals/link.jpg")
    info.external_attr = (0o120777 << 16)
    return info, b"/etc/passwd"


BAD_ARCHIVES = [
    ("not a zip", b"hello, this is text", "This is not a zip archive."),
    ("zip bomb", make_zip({"originals/1-0.jpg": images.jpeg(200, 150), "filler.bin": bytes(30 * 1024 * 1024)},
                          meta=manifest()), "looks like a zip bomb"),
    ("lying sizes", lying_sizes(), "refused"),
    ("path traversal", make_zip({"originals/1-0.jpg": images.jpeg(200, 150), "../../evil.jpg": b"x"},
                                meta=manifest()), "unsafe path"),
    ("absolute path", make_zip({"originals/1-0.jpg": images.jpeg(200, 150), "/etc/cron.d/x": b"x"},
                               meta=manifest()), "unsafe path"),
    ("symlink", make_zip(meta=manifest(), infos=[symlink_entry()]), "symbolic link"),
    ("no manifest", make_zip(), "has no manifest.json"),
    ("broken JSON", make_zip(meta=b"{not json"), "manifest.json is not valid JSON"),
    ("other format", make_zip(meta={"format": "something-else", "version": 1}), "not a cara-fed portfolio"),
    ("unknown version", make_zip(meta=manifest(version=99)), "This archive is version 99"),
    ("missing original", make_zip({}, meta=manifest()), "missing from the archive"),
    ("not an image", make_zip({"originals/1-0.jpg": b"#!/bin/sh\necho hi\n"}, meta=manifest()), "originals/1-0.jpg"),
    ("unknown licence", make_zip(meta=manifest(works=[{**manifest()["works"][0], "license": "mine-only"}])),
     "Choose a licence"),
    ("wrong types", make_zip(meta=manifest(works=[{**manifest()["works"][0], "tags": "bird"}])), "tags must be"),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD_ARCHIVES, ids=[c[0] for c in BAD_ARCHIVES])
async def test_bad_archives_are_refused_whole(client, ctx, case, data, message):
    await sign_up(client, "ada")
    response = await post_file(client, "/settings/data/import/archive", "archive", data, "portfolio.zip")
    assert response.status == 400, (case, response.status)
    assert message in await response.text(), case
    assert await count(ctx, DataImport) == 0 and await count(ctx, Artwork) == 0 and await count(ctx, MediaAsset) == 0
    assert list((ctx.config.data_path / "imports").glob("*")) == []


async def test_archive_caps_on_entries_and_unpacked_size(client, ctx, config):
    await sign_up(client, "ada")
    config.portability.archive_max_entries = 5
    many = make_zip({f"originals/{n}.jpg": b"x" for n in range(6)}, meta=manifest())
    response = await post_file(client, "/settings/data/import/archive", "archive", many, "p.zip")
    assert response.status == 400 and "at most 5 are allowed" in await response.text()
    config.portability.archive_max_uncompressed_mb = 1
    big = make_zip({"originals/1-0.jpg": images.jpeg(200, 150), "noise.bin": random.Random(7).randbytes(1_500_000)},
                   meta=manifest())
    response = await post_file(client, "/settings/data/import/archive", "archive", big, "p.zip")
    assert response.status == 400 and "at most 1 MiB are allowed" in await response.text()
    config.portability.archive_max_uncompressed_mb = 4096
    config.media.max_upload_mb = 1  # an original over the upload limit is refused before it is read
    huge = make_zip({"originals/1-0.jpg": random.Random(8).randbytes(1_200_000)}, meta=manifest())
    response = await post_file(client, "/settings/data/import/archive", "archive", huge, "p.zip")
    assert response.status == 400 and "larger than this server&#39;s upload limit (1 MiB)" in await response.text()
    config.portability.archive_max_mb = 1
    response = await post_file(client, "/settings/data/import/archive", "archive", huge + bytes(600_000), "p.zip")
    assert response.status == 400 and "This archive is larger than 1 MiB." in await response.text()
    assert await count(ctx, DataImport) == 0 and await count(ctx, Artwork) == 0
    assert list((ctx.config.data_path / "imports").glob("*")) == []


BAD_CSVS = [
    ("10k rows", ("Account address,Show boosts,Notify on new posts,Languages\n"
                  + "".join(f"user{n}@example.org,true,false,\n" for n in range(10_000))).encode(),
     "This file lists 10,000 accounts; at most 5,000"),
    ("wrong headers", b"Name,Email\nAda,ada@example.org\n", "Unexpected columns"),
    ("not an address", b"Account address,Show boosts\nalice@example.org,true\nnot an address,true\n",
     "Line 3"),
    ("binary", b"\xff\xfe\x00\x01\x02", "not a CSV text file"),
    ("empty", b"", "The file is empty."),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD_CSVS, ids=[c[0] for c in BAD_CSVS])
async def test_bad_following_csvs_are_refused(client, ctx, case, data, message):
    await sign_up(client, "ada")
    response = await post_file(client, "/settings/data/import/following", "csv", data, "following.csv")
    assert response.status == 400, case
    assert message in await response.text(), case
    assert await count(ctx, DataImport) == 0


async def test_the_page_shows_progress_while_the_archive_is_built(client):
    from cara_fed.context import CONTEXT_KEY

    async def later(ctx, *ids):  # type: ignore[no-untyped-def]
        return None
    client.app[CONTEXT_KEY].jobs.registry.register(tasks.BUILD_EXPORT, later)  # the worker has not got to it
    await sign_up(client, "ada")
    token = await csrf_from(client, "/settings/data")
    assert (await client.post("/settings/data/archive", data={"csrf_token": token},
                              allow_redirects=False)).status == 303
    again = await client.post("/settings/data/archive", data={"csrf_token": token}, allow_redirects=False)
    assert again.status == 400 and "An archive is being built already" in await again.text()
    page = await (await client.get("/settings/data")).text()
    assert '<meta http-equiv="refresh" content="5">' in page and "<progress" in page
    export_id = re.search(r'id="export-(\d+)"', page).group(1)
    status = await (await client.get(f"/settings/data/archive/{export_id}")).json()
    assert status == {"state": "queued", "done": 0, "total": 0, "error": None, "download": None}
    assert (await client.get(f"/settings/data/archive/{export_id}.zip")).status == 404
