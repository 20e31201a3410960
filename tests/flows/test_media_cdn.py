"""docs/deploy.md "Public media straight from the store", run: `cara-fed serve` on SeaweedFS with
[storage] public_base_url pointing at Debian's nginx configured with the documented block (verbatim, ports and
paths substituted). A public work's page links its files at nginx, which serves them from the bucket's
published/ area with our NoAI headers (from the object metadata, also on cache hits) and nothing else of the
bucket; a followers-only work's files stay on cara-fed; making the work followers-only removes the store's copy."""

from __future__ import annotations

import asyncio
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import images
from tests.flows.test_deploy import DOC, get, needs_nginx, running_nginx
from tests.flows.users import Browserless, eventually
from tests.instance import free_port, running_instance
from tests.seaweed import Seaweed, seaweed  # noqa: F401  (fixture)

pytestmark = pytest.mark.flow
KEY = r"[0-9a-f]{2}/[0-9a-f]{32}\.(?:jpg|webp)"


def store_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def media_block() -> str:
    text = DOC.read_text()
    section = text.split("<!-- cara-fed-media:start -->", 1)[1].split("<!-- cara-fed-media:end -->", 1)[0]
    match = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert match, "docs/deploy.md lost its media block"
    return match.group(1)


def nginx_conf(root: Path, listen: int, store: str, bucket: str) -> str:
    block = media_block()
    for documented in ("listen 443 ssl;", "http://127.0.0.1:8333/cara-fed/published/", "/var/cache/nginx/cara-media"):
        assert documented in block
    block = (block.replace("listen 443 ssl;", f"listen 127.0.0.1:{listen};")
             .replace("http://127.0.0.1:8333/cara-fed/published/", f"{store}/{bucket}/published/")
             .replace("/var/cache/nginx/cara-media", str(root / "cache")))
    temp = "\n".join(f"{kind}_temp_path {root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                      "scgi"))
    # As root (CI containers), workers would drop to `nobody`, who cannot enter pytest's private temp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""daemon off;
{user}
worker_processes 1;
pid {root / 'nginx.pid'};
error_log {root / 'error.log'} info;
events {{ worker_connections 256; }}
http {{
    access_log {root / 'access.log'};
    {temp}
{block}
}}
"""


@contextmanager
def media_site(root: Path, port: int, store: str, bucket: str) -> Iterator[None]:
    with running_nginx(root, nginx_conf(root, port, store, bucket), port):
        yield


@needs_nginx
async def test_public_files_come_from_the_store_through_the_documented_site(tmp_path: Path,
                                                                             seaweed: Seaweed):  # noqa: F811
    bucket = seaweed.new_bucket()
    port = free_port()
    cdn = f"http://127.0.0.1:{port}"
    settings = {"CARA_FED__STORAGE__BACKEND": "s3", "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
                "CARA_FED__STORAGE__S3_BUCKET": bucket, "CARA_FED__STORAGE__S3_ACCESS_KEY": "flow",
                "CARA_FED__STORAGE__S3_SECRET_KEY": "flow", "CARA_FED__STORAGE__PUBLIC_BASE_URL": cdn}
    with running_instance(tmp_path / "instance", settings=settings) as instance, \
            media_site(tmp_path / "nginx", port, seaweed.endpoint, bucket):
        for command in (("media", "setup"), ("createuser", "alice", "--email", "alice@a.example", "--password",
                                             "alice password")):
            await asyncio.to_thread(instance.cli, *command)
        alice = Browserless(instance.url)
        try:
            await alice.login("alice", "alice password")
            public = await alice.upload("Harbour", [("one.jpg", images.jpeg(1200, 800), "Boats")])
            hidden = await alice.upload("Sketch", [("two.jpg", images.jpeg(800, 600), "Lines")],
                                        visibility="followers")

            async def linked(location: str, where: str):  # type: ignore[no-untyped-def]
                _, html = await alice.get(location)
                return "Processing" not in html and re.findall(re.escape(where) + "/(" + KEY + ")", html)
            keys = await eventually(lambda: linked(public, cdn), what="the public work linked at the CDN")
            ours = await eventually(lambda: linked(hidden, "/media"), what="the followers-only work processed")
            _, html = await alice.get(hidden)  # (it may also show the public work, linked at the CDN)
            assert not set(ours) & set(re.findall(re.escape(cdn) + "/(" + KEY + ")", html))
            assert all(store_status(f"{seaweed.endpoint}/{bucket}/published/{key}") == 404 for key in ours)
            assert not set(ours) & set(keys)
            async with alice.http.get(f"{instance.url}{public}") as page:
                assert f"img-src 'self' {cdn}" in page.headers["Content-Security-Policy"]

            for key in keys:
                first = get(port, f"/{key}", "127.0.0.1")
                assert first.status == 200
                assert first.getheader("X-Robots-Tag") == "noai, noimageai"
                assert first.getheader("tdm-reservation") == "1"
                assert first.getheader("Cache-Control") == "public, max-age=31536000, immutable"
                assert first.getheader("Content-Type") in ("image/jpeg", "image/webp")
                assert first.getheader("x-amz-meta-x-robots-tag") is None
            again = get(port, f"/{keys[0]}", "127.0.0.1")  # from nginx's cache: the signals stay
            assert again.getheader("X-Cache-Status") == "HIT"
            assert again.getheader("X-Robots-Tag") == "noai, noimageai"
            # Nothing else of the bucket is reachable through the site.
            for path in (f"/{bucket}/public/{keys[0]}", f"/public/{keys[0]}", "/", f"/{keys[0]}/../x"):
                assert get(port, path, "127.0.0.1").status in (400, 404)

            # Made followers-only: the store's copy goes; pages name cara-fed again.
            work_id = public.rsplit("/", 1)[1]
            token = await alice.token(f"/artworks/{work_id}/edit")
            edited = await alice.post(f"/artworks/{work_id}/edit", data={
                "csrf_token": token, "title": "Harbour", "description": "", "tags": "",
                "license": "all-rights-reserved", "noai": "on", "visibility": "followers"},
                token_from=f"/artworks/{work_id}/edit")
            assert edited.status == 303

            async def withdrawn():  # type: ignore[no-untyped-def]
                gone = all(store_status(f"{seaweed.endpoint}/{bucket}/published/{key}") == 404 for key in keys)
                _, html = await alice.get(public)
                return gone and cdn not in html and re.search("/media/" + KEY, html)
            await eventually(withdrawn, what="the store's copies removed by the worker")
        finally:
            await alice.close()
