"""Two instances: a cloaked work federates with cara:cloaked, and B serves A's cloaked pixels unchanged.

The engine here is `external` with a small script (fast and deterministic); the built-in engine's own
behaviour is covered by tests/protection/cloak."""

from __future__ import annotations

import io
import re
import sys

import aiohttp
import numpy as np
import pytest
from PIL import Image

from protection import read_xmp
from tests.flows.users import Browserless, eventually
from tests.instance import running_instance
from tests.protection.cloak.fixtures import painting, png

pytestmark = pytest.mark.flow

TOOL = r'''
import sys
import numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1]).convert("RGB")).astype(int)
yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
a = np.clip(a + (8 * np.sin(xx / 9.0) * np.cos(yy / 7.0))[..., None], 0, 255)  # a smooth, visible-in-data pattern
Image.fromarray(a.astype("uint8")).save(sys.argv[2])
'''


async def test_cloaked_work_keeps_its_pixels_across_federation(tmp_path):
    script = tmp_path / "tool.py"
    script.write_text(TOOL)
    cloak = {"CARA_FED__CLOAK__ENGINE": "external", "CARA_FED__CLOAK__EXTERNAL_VERSION": "wave-1",
             "CARA_FED__CLOAK__EXTERNAL_COMMAND": f"{sys.executable},{script},{{input}},{{output}}",
             # The panel's figures run CLIP on the CPU (a minute or more on a busy machine, past the 60 s wait for
             # publishing); they are not what federates. tests/web/test_cloaking.py measures them in the pipeline.
             "CARA_FED__CLOAK__MEASURE": "false"}
    with running_instance(tmp_path / "a", settings=cloak) as a, running_instance(tmp_path / "b") as b:
        a.cli("createuser", "alice", "--email", "alice@a.example", "--password", "alice password")
        b.cli("createuser", "bob", "--email", "bob@b.example", "--password", "bob password")
        alice, bob = Browserless(a.url), Browserless(b.url)
        try:
            await alice.login("alice", "alice password")
            await bob.login("bob", "bob password")
            async with bob.http.get(f"{b.url}/follow", params={"handle": f"@alice@127.0.0.1:{a.port}"},
                                    allow_redirects=False) as found:
                profile = found.headers["Location"]
            _, page = await bob.get(profile)
            account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)
            await bob.post(f"/accounts/{account_id}/follow", {}, token_from=profile)

            async def accepted():  # type: ignore[no-untyped-def]
                return "Unfollow" in (await bob.get(profile))[1]
            await eventually(accepted, what="the follow being accepted")

            clean = painting(640, 480)
            location = await alice.upload("Waves", [("w.png", png(clean), "Waves")], cloak="on")

            async def published():  # type: ignore[no-untyped-def]
                _, html = await alice.get(location)
                return "Cloaked" in html and html
            html = await eventually(published, what="the cloaked work being published on A")
            a_url = max(re.findall(r'/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg', html), key=len)
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{a.url}{a_url}") as r:
                    a_bytes = await r.read()
                async with http.get(f"{a.url}{location}", headers={"Accept": "application/activity+json"}) as r:
                    note = await r.json(content_type=None)
            assert note["cara:cloaked"] == {"cara:engine": "external", "cara:version": "wave-1"}
            a_pixels = np.asarray(Image.open(io.BytesIO(a_bytes)).convert("RGB"))
            assert a_pixels.shape == clean.shape
            assert np.abs(a_pixels.astype(int) - clean.astype(int)).mean() > 2  # A serves cloaked pixels

            async def arrived():  # type: ignore[no-untyped-def]
                _, feed = await bob.get("/feed")
                return "Waves" in feed and "/media/" in feed and feed
            feed = await eventually(arrived, what="the work reaching B with processed media")
            remote = re.search(r'href="(/@alice@[^"/]+/\d+)"', feed).group(1)
            _, work = await bob.get(remote)
            urls = set(re.findall(r'/media/[0-9a-f]{2}/[0-9a-f]{32}\.jpg', work))
            async with aiohttp.ClientSession() as http:
                served = []
                for url in urls:
                    async with http.get(f"{b.url}{url}") as r:
                        served.append(await r.read())
            top = max(served, key=lambda d: Image.open(io.BytesIO(d)).size)
            b_pixels = np.asarray(Image.open(io.BytesIO(top)).convert("RGB"))
            assert np.array_equal(b_pixels, a_pixels)  # B serves A's cloaked pixels, not a re-encode
            assert "DMI-PROHIBITED" in read_xmp(top)  # NoAI marking intact on B's copy
        finally:
            await alice.close()
            await bob.close()
