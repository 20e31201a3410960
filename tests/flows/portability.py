"""Helpers for the flows where an artist takes their account elsewhere (issue 18): actor documents, following a
handle from another instance, the portfolio archive built by the worker, imports with progress, and the
per-work summary of an archive that must survive a move."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from typing import Any

import aiohttp

from tests.flows.users import Browserless, eventually

AP = {"Accept": "application/activity+json"}


async def actor(user: Browserless, url: str) -> dict:
    async with user.http.get(url, headers=AP) as response:
        assert response.status == 200, url
        return await response.json(content_type=None)


async def count_is(user: Browserless, url: str, expected: int) -> bool:
    """A followers/following collection's totalItems is `expected` (polled with `eventually`)."""
    return (await actor(user, url))["totalItems"] == expected


async def follow(user: Browserless, home: str, handle: str) -> str:
    """`user` follows `handle` from their instance `home`; returns the profile path there."""
    async with user.http.get(f"{home}/follow", params={"handle": handle}, allow_redirects=False) as found:
        assert found.status == 303, await found.text()
        profile = found.headers["Location"]
    _, page = await user.get(profile)
    if match := re.search(r"/accounts/(\d+)/follow", page):
        await user.post(f"/accounts/{match.group(1)}/follow", {}, token_from=profile)
    return profile


async def csv_export(user: Browserless, name: str) -> str:
    async with user.http.get(f"{user.base}/settings/data/{name}.csv") as answer:
        assert answer.status == 200, name
        return await answer.text()


async def archive_of(person: Browserless) -> bytes:
    """Ask for a portfolio archive, wait for the worker to build it, download it."""
    response = await person.post("/settings/data/archive", {}, token_from="/settings/data")
    assert response.status == 303
    _, page = await person.get("/settings/data")
    export_id = re.search(r'id="export-(\d+)"', page).group(1)

    async def ready():  # type: ignore[no-untyped-def]
        async with person.http.get(f"{person.base}/settings/data/archive/{export_id}") as answer:
            status = await answer.json()
        assert status["state"] != "failed", status
        return status["download"] if status["state"] == "ready" else None
    download = await eventually(ready, what="the worker building the archive")
    async with person.http.get(person.base + download) as answer:
        assert answer.status == 200
        return await answer.read()


async def upload_file(person: Browserless, path: str, field: str, data: bytes) -> dict:
    """Post an import form and wait for the worker to finish it; returns its final progress document."""
    form = aiohttp.FormData()
    form.add_field(field, data, filename=f"{field}.bin", content_type="application/octet-stream")
    response = await person.post(path, form, token_from="/settings/data")
    assert response.status == 303, f"{path}: {response.status}"
    import_id = re.search(r"#import-(\d+)", response.headers["Location"]).group(1)

    async def finished():  # type: ignore[no-untyped-def]
        async with person.http.get(f"{person.base}/settings/data/imports/{import_id}") as answer:
            status = await answer.json()
        return status if status["state"] in ("done", "failed") else None
    status = await eventually(finished, what=f"the worker finishing the import from {path}")
    assert status["state"] == "done", status
    return status


# Per-server details of a work record: its id (the projects and pinned lists are compared by title instead) and
# where its original lies in the zip (compared by the bytes' hash).
LOCAL_KEYS = ("id",)


def summary(data: bytes) -> dict[str, Any]:
    """What must survive a move, from a portfolio archive: every work's record field by field (originals by
    their SHA-256), the projects with their works by title, and the pinned order by title."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        titles = {w["id"]: w["title"] for w in manifest["works"]}
        works = {}
        for work in manifest["works"]:
            record = {k: v for k, v in work.items() if k not in LOCAL_KEYS}
            record["images"] = [{**{k: v for k, v in image.items() if k != "file"},
                                 "bytes": hashlib.sha256(archive.read(image["file"])).hexdigest()}
                                for image in work["images"]]
            works[work["title"]] = record
        projects = [{"title": p["title"], "description": p["description"], "position": p["position"],
                     "cover": titles.get(p["cover_work"]), "works": [titles[i] for i in p["works"]]}
                    for p in manifest["projects"]]
        return {"works": works, "projects": projects, "pinned": [titles[i] for i in manifest["pinned"]]}
