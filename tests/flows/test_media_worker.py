"""The media worker under stress, on a real `cara-fed serve` with its embedded worker: a stalled remote server
never delays a local upload, and a crash mid-processing is recovered on the next start within seconds."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web
from PIL import Image

from tests import images
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance
from tests.peers.fedify_peer import require_fedify, running_fedify

pytestmark = pytest.mark.flow


def _asset_states(data_dir: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(data_dir / "cara-fed.db", timeout=5) as db:
        return db.execute("SELECT id, state FROM media_assets WHERE remote_url IS NULL ORDER BY id").fetchall()


async def _published(user: Browserless, location: str) -> bool:
    status, html = await user.get(location)
    return status == 200 and "Processing…" not in html and "/media/" in html


class StalledServer:
    """Serves images that never arrive: each request hangs until the client gives up."""

    def __init__(self) -> None:
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_get("/slow/{name}", self._slow)
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        self.url = ""

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await asyncio.sleep(600)
        return web.Response(status=504)

    async def __aenter__(self) -> StalledServer:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def test_a_stalled_remote_server_does_not_delay_local_uploads(tmp_path):
    require_fedify()
    with running_instance(tmp_path / "cara") as cara, running_fedify(tmp_path / "peer") as peer:
        cara.cli("createuser", "ada", "--email", "ada@cara.example", "--password", "ada password")
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            async with ada.http.get(f"{cara.url}/follow", params={"handle": peer.handle},
                                    allow_redirects=False) as found:
                profile = found.headers["Location"]
            _, page = await ada.get(profile)
            account_id = page.split("/accounts/", 1)[1].split("/follow", 1)[0]
            await ada.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

            async def accepted() -> bool:
                return "Unfollow" in (await ada.get(profile))[1]
            await eventually(accepted, what="the Fedify follow being accepted")

            async with StalledServer() as stalled:
                attachments = [{"url": f"{stalled.url}/slow/{n}.png", "mediaType": "image/png", "name": f"slow {n}"}
                               for n in range(20)]
                await asyncio.to_thread(peer.post_note, "<p>Twenty slow images</p>", attachments=attachments)
                await eventually(lambda: _true_after(stalled.requests >= 2), what="remote fetches hanging")

                started = time.monotonic()
                location = await ada.upload("Quick sketch", [("q.jpg", images.jpeg(1600, 1200), "A quick sketch")])
                await eventually(lambda: _published(ada, location), within=60, what="the local upload")
                took = time.monotonic() - started
                # Before remote media had its own queue, 20 hanging fetches held both media workers and this
                # upload waited ~30 s per pair of fetches (minutes); now it goes at once.
                assert took < 20, f"a local upload took {took:.1f} s behind stalled remote media"
                assert stalled.requests <= 4  # the remote queue's two workers, not every worker we have
        finally:
            await ada.close()


async def _true_after(value: bool) -> bool:
    return value


def _noisy_jpeg(width: int, height: int) -> bytes:
    rng = np.random.default_rng(7)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_after_a_crash_the_next_start_requeues_interrupted_processing_at_once(tmp_path):
    root = tmp_path / "cara"
    big = _noisy_jpeg(6000, 4000)  # seconds of processing: long enough to be caught in the act
    with running_instance(root) as cara:
        cara.cli("createuser", "ada", "--email", "ada@cara.example", "--password", "ada password")
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            location = await ada.upload("Big canvas", [("big.jpg", big, "A big noisy canvas")])

            async def processing() -> bool:
                return any(state == "processing" for _, state in _asset_states(cara.data_dir))
            await eventually(processing, within=60, what="the upload being processed")
            os.kill(cara.pid, signal.SIGKILL)  # the worker dies mid-image, as in a power cut
        finally:
            await ada.close()
    assert [state for _, state in _asset_states(root / "data")] == ["processing"]  # what the crash left

    with running_instance(root) as cara:
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            # The stuck-work timeout is 10 minutes; recovery on start must not wait for it.
            await eventually(lambda: _published(ada, location), within=60, what="recovery after the restart")
        finally:
            await ada.close()
    assert [state for _, state in _asset_states(root / "data")] == ["ready"]


def _peak_rss_mb(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def _zeros_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side)).save(out, "PNG")  # 143 KB that decode to 49 megapixels
    return out.getvalue()


async def test_decompression_heavy_uploads_stay_within_the_memory_budget(tmp_path):
    bomb = _zeros_png(7000)
    with running_instance(tmp_path / "cara") as cara:
        cara.cli("createuser", "ada", "--email", "ada@cara.example", "--password", "ada password")
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            location = await ada.upload("Two blank canvases", [("a.png", bomb, "blank"), ("b.png", bomb, "blank")])
            await eventually(lambda: _published(ada, location), within=120, what="both images processed")
        finally:
            await ada.close()
        peak = _peak_rss_mb(cara.pid)
    # Detection once held several float copies of every pixel (~3 GB for one of these, 6 GB for two).
    assert peak < 600, f"serve peaked at {peak:.0f} MiB"
