"""An artist leaves one cara-fed for another with everything, through two real `cara-fed serve` processes (each
with its own SQLite database and the real embedded worker): the following CSV imported on the new server sends a
Follow across; the portfolio archive built by the worker on the old server is downloaded and imported on the new
one, whose works then carry the same originals (byte for byte), dates, licence, NoAI and alt texts — and no
Create reaches the new account's followers for them."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import zipfile

import aiohttp
import pytest

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance

pytestmark = pytest.mark.flow


async def archive_of(person: Browserless) -> bytes:
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


async def upload_file(person: Browserless, path: str, field: str, data: bytes) -> str:
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


def summary(data: bytes) -> list[dict]:
    """What must survive the move, per work (ids and file names differ between servers)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        return [{"title": w["title"], "license": w["license"], "noai": w["noai"], "tags": w["tags"],
                 "created_at": w["created_at"], "published_at": w["published_at"], "cloak": w["cloak"],
                 "images": [(i["alt_text"], i["focal_point"], hashlib.sha256(archive.read(i["file"])).hexdigest())
                            for i in w["images"]]} for w in manifest["works"]]


async def test_move_portfolio_and_follows_between_instances(tmp_path):
    with running_instance(tmp_path / "old") as old, running_instance(tmp_path / "new") as new:
        old.cli("createuser", "alice", "--email", "alice@old.example", "--password", "alice password")
        old.cli("createuser", "fan", "--email", "fan@old.example", "--password", "fan password")
        new.cli("createuser", "alice", "--email", "alice@new.example", "--password", "alice password")
        alice, moved, fan = Browserless(old.url), Browserless(new.url), Browserless(old.url)
        try:
            await alice.login("alice", "alice password")
            await moved.login("alice", "alice password")
            await fan.login("fan", "fan password")
            await alice.upload("Harbour at dawn", [("one.jpg", images.jpeg(1200, 800), "Boats at dawn"),
                                                   ("two.png", images.png(500, 700, mode="RGB"), "A red sail")],
                               license="https://creativecommons.org/licenses/by/4.0/")
            await alice.upload("Quiet study", [("three.jpg", images.jpeg(640, 640, colour=(20, 90, 200)), "Blue")],
                               noai="")

            # The fan follows alice's new account first: the imported works must not be pushed to them.
            found = await fan.http.get(f"{old.url}/follow", params={"handle": f"@alice@127.0.0.1:{new.port}"},
                                       allow_redirects=False)
            profile = found.headers["Location"]
            _, page = await fan.get(profile)
            account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
            await fan.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

            # Following CSV: the new account follows the fan over real federation, by the worker.
            csv = f"Account address,Show boosts,Notify on new posts,Languages\nfan@127.0.0.1:{old.port},true,false,\n"
            status = await upload_file(moved, "/settings/data/import/following", "csv", csv.encode())
            assert status["failures"] == []

            async def followed():  # type: ignore[no-untyped-def]
                async with fan.http.get(f"{old.url}/settings/data/followers.csv") as answer:
                    return f"alice@127.0.0.1:{new.port}" in await answer.text()
            await eventually(followed, what="the imported follow being accepted by the old server")

            exported = await archive_of(alice)
            status = await upload_file(moved, "/settings/data/import/archive", "archive", exported)
            assert (status["done"], status["total"], status["failures"]) == (2, 2, [])

            async def published():  # type: ignore[no-untyped-def]
                _, html = await moved.get("/@alice")
                return "Harbour at dawn" in html and "Quiet study" in html
            await eventually(published, what="the imported works being processed and shown")
            again = await archive_of(moved)
            assert len(summary(exported)) == 2 and summary(again) == summary(exported)

            with sqlite3.connect(new.data_dir / "cara-fed.db") as db:
                creates = db.execute("SELECT count(*) FROM outgoing_activities WHERE activity_type = 'Create'")
                assert creates.fetchone()[0] == 0
        finally:
            for person in (alice, moved, fan):
                await person.close()
