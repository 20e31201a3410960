"""Cloaking through HTTP with the external engine (a small script as the tool): opt-in on upload, failure shown
with retry, publishing without the cloak only on the artist's say-so, cancel, and the panel."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Artwork, MediaAsset
from cara_fed.services import cloaking
from cara_fed.storage import new_key
from tests import images
from tests.conftest import csrf_from, sign_up
from tests.web.test_artworks import upload

TOOL = r'''
import sys, time
from pathlib import Path
from PIL import Image
mode = Path(sys.argv[1]).read_text().strip()
if mode == "fail":
    print("GPU not found", file=sys.stderr)
    sys.exit(2)
if mode == "hang":
    Path(sys.argv[1]).with_name("started").write_text("yes")
    time.sleep(60)
im = Image.open(sys.argv[2]).convert("RGB")
print("progress 50%", flush=True)
im = Image.eval(im, lambda v: 255 - v)  # unmistakable: the served pixels are the tool's
im.save(sys.argv[3])
'''


@pytest.fixture()
def tool(config, database_url: str, tmp_path: Path) -> Path:
    script, mode = tmp_path / "fake_glaze.py", tmp_path / "mode.txt"
    script.write_text(TOOL)
    mode.write_text("fail")
    config.cloak.engine = "external"
    # The panel's figures run CLIP and MobileNet on the CPU (a minute or two here) and do not depend on the
    # database: the SQLite run measures them and checks the panel shows them, the PostgreSQL run checks the
    # panel without them (the engine's own figures: tests/protection/cloak/test_engine.py).
    config.cloak.measure = database_url.startswith("sqlite")
    config.cloak.external_command = [sys.executable, str(script), str(mode), "{input}", "{output}"]
    config.cloak.external_version = "fake-glaze-1"
    config.cloak.external_timeout_seconds = 30
    return mode


async def work_and_assets(ctx):  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
        return work, [image.asset for image in work.images]


def app_ctx(client):  # type: ignore[no-untyped-def]

    return client.app[CONTEXT_KEY]


async def test_failure_is_shown_then_retry_publishes_the_tools_pixels(tool, client):
    await sign_up(client, "ada")
    upload_page = await (await client.get("/upload")).text()
    assert 'name="cloak"' in upload_page and "not a guarantee" in upload_page and "What it costs" in upload_page
    response = await upload(client, [("a.png", images.png(300, 200, mode="RGB"), "Sea")], cloak="on")
    assert response.status == 303
    location = response.headers["Location"]
    ctx = app_ctx(client)
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
        asset = work.images[0].asset
        assert work.cloak is True and work.state == "processing"
        assert asset.state == "cloak_stopped" and asset.error_code == "tool_failed"
        assert "GPU not found" in asset.error_message and not asset.derivatives  # nothing public
    page = await (await client.get(location)).text()
    assert "Cloaking failed" in page and "Retry cloaking" in page and "Publish without cloaking" in page
    status = await (await client.get(f"/artworks/{work.id}/status")).json()
    assert status["images"][0]["state"] == "cloak_stopped"

    tool.write_text("ok")
    token = await csrf_from(client, location)
    retried = await client.post(f"/artworks/{work.id}/cloak/retry", data={"csrf_token": token},
                                allow_redirects=False)
    assert retried.status == 303
    async with ctx.sessions() as session:
        work = await session.get(Artwork, work.id)
        asset = work.images[0].asset
        assert asset.state == "ready" and work.state == "published"
        assert work.cloaked == {"engine": "external", "version": "fake-glaze-1"}
        assert asset.report["cloak"]["engine"] == "external" and asset.progress == 100
        key = asset.best(400, "jpeg").key
    served = np.asarray(Image.open(io.BytesIO(await ctx.storage.get("public", key))).convert("RGB"))
    assert abs(served.reshape(-1, 3).mean(axis=0) - (245, 55, 135)).max() < 3  # the tool inverted (10, 200, 120)
    panel = await (await client.get(f"/artworks/{work.id}/protection")).text()
    assert "Engine: <strong>external</strong> fake-glaze-1" in panel
    if ctx.config.cloak.measure:  # the SQLite run (see `tool`)
        assert "Change to the picture: PSNR" in panel and "Embedding shift on CLIP ViT-B/16" in panel
    else:
        assert "No figures: this instance does not measure what its cloak does" in panel
    note = await (await client.get(location, headers={"Accept": "application/activity+json"})).json()
    assert note["type"] == "Note"
    assert note["cara:cloaked"] == {"cara:engine": "external", "cara:version": "fake-glaze-1"}


async def test_publish_without_cloaking_only_when_the_artist_says_so(tool, client):
    await sign_up(client, "ada")
    response = await upload(client, [("a.png", images.png(120, 80, mode="RGB"), "Sea")], cloak="on")
    location = response.headers["Location"]
    ctx = app_ctx(client)
    async with ctx.sessions() as session:
        work = await session.scalar(select(Artwork))
    token = await csrf_from(client, location)
    assert (await client.post(f"/artworks/{work.id}/cloak/cancel", data={"csrf_token": token})).status == 409
    published = await client.post(f"/artworks/{work.id}/cloak/publish", data={"csrf_token": token},
                                  allow_redirects=False)
    assert published.status == 303
    async with ctx.sessions() as session:
        work = await session.get(Artwork, work.id)
        assert work.state == "published" and work.cloak is False and work.cloaked is None
        assert "cloak" not in work.images[0].asset.report


async def test_cancel_stops_a_running_tool(tool, ctx, tmp_path):
    from cara_fed.models import Account, ArtworkImage
    from cara_fed.services.accounts import create_account

    tool.write_text("hang")
    ctx.config.cloak.external_timeout_seconds = 60
    async with ctx.transaction() as tx:
        account = await create_account(ctx, tx, "ada", "ada@example.test", "correct horse 1")
    key = new_key()
    await ctx.storage.put("private", key, images.png(64, 48, mode="RGB"))
    async with ctx.transaction() as tx:
        asset = MediaAsset(account_id=account.id, original_key=key, original_type="image/png", state="cloaking")
        tx.session.add(Artwork(account_id=account.id, title="t", cloak=True, images=[ArtworkImage(asset=asset)]))
    job = asyncio.create_task(cloaking.cloak_media(ctx, asset.id))
    started = tmp_path / "started"
    for _ in range(200):
        if started.exists():
            break
        await asyncio.sleep(0.05)
    assert started.exists()
    async with ctx.sessions() as session:
        owner = await session.get(Account, account.id)
    await cloaking.cancel(ctx, owner, (await work_and_assets(ctx))[0].id)
    await asyncio.wait_for(job, 15)  # the tool was killed, not waited for
    _, assets = await work_and_assets(ctx)
    assert assets[0].state == "cloak_stopped" and assets[0].error_code == "cancelled" and not assets[0].derivatives


async def test_asking_for_an_unavailable_engine_is_a_clear_error(config, client):
    config.cloak.engine = "external"  # no command configured
    await sign_up(client, "ada")
    page = await (await client.get("/upload")).text()
    assert "Cloaking is unavailable right now" in page
    response = await upload(client, [("a.png", images.png(60, 40, mode="RGB"), "x")], cloak="on")
    assert response.status == 400
    assert "Cloaking is not available" in await response.text()
    assert re.search(r'name="cloak"[^>]*disabled', page)
