"""A hostile afternoon for one `cara-fed serve` (embedded worker, SQLite), beside a plain upload in the same run.

    python bench/hostile.py [--concurrent 20] [--stall 20]

The ceiling is a plain 2 MP JPEG upload on the idle instance (upload to published, median of 3). Then, one
after the other: a 7000x7000 PNG of zeros (143 KB that decode to 49 MP), a 1,500-frame GIF, a PNG whose header
declares 50,000 x 50,000 pixels, a PNG carrying a zTXt zip bomb, a 100 MB anonymous POST /login, 20 concurrent
2 MP uploads, and a followed remote actor's post with 20 images on a server that never answers, during which
a plain upload is timed again. Printed: wall time and the serve process's peak RSS (VmHWM) after each step.

Goals (issue 12): peak RSS <= 600 MB through all of it; the upload during the remote stall <= 2x the ceiling.
Always exits 0; the verdict is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import statistics
import struct
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path

import aiohttp
from aiohttp import web
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a script from the repo root

from federation.signatures import sign_request  # noqa: E402
from tests.federation.peer import AP, running_peer  # noqa: E402
from tests.flows.users import Browserless, eventually  # noqa: E402
from tests.instance import running_instance  # noqa: E402

GOAL_RSS_MB = 600
GOAL_STALL_RATIO = 2.0


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def photo(width: int, height: int, seed: int = 0) -> bytes:
    image = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(8):
        x, y = (seed * 131 + i * 97) % width, (seed * 71 + i * 61) % height
        draw.ellipse((x, y, x + width // 5, y + height // 4), fill=(30 + 20 * i, 200 - 15 * i, 90 + 9 * i))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def zeros_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side)).save(out, "PNG")
    return out.getvalue()


def many_frame_gif(frames: int, side: int = 320) -> bytes:
    images = [Image.new("P", (side, side), i % 200) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=20, loop=0)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def header_bomb_png(side: int = 50_000) -> bytes:
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _chunk(b"IEND", b""))


def ztxt_bomb_png() -> bytes:
    """A small valid PNG whose zTXt chunk inflates to 1 GB of text."""
    plain = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(plain, "PNG")
    data = plain.getvalue()
    compressor = zlib.compressobj(9)
    bomb = b"".join(compressor.compress(b"\x00" * (1 << 24)) for _ in range(64)) + compressor.flush()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + _chunk(b"zTXt", b"parameters\x00\x00" + bomb) + data[iend:]


async def published(user: Browserless, location: str) -> bool:
    status, html = await user.get(location)
    return status == 200 and "Processing…" not in html and "/media/" in html


async def timed_upload(user: Browserless, title: str, files: list[tuple[str, bytes, str]],
                       within: float = 300) -> float:
    started = time.monotonic()
    location = await user.upload(title, files)
    await eventually(lambda: published(user, location), within=within, what=title)
    return time.monotonic() - started


async def refused_upload(user: Browserless, title: str, name: str, data: bytes) -> tuple[float, str]:
    form = aiohttp.FormData()
    for key, value in {"title": title, "license": "all-rights-reserved", "visibility": "public"}.items():
        form.add_field(key, value)
    form.add_field("images", data, filename=name, content_type="application/octet-stream")
    form.add_field("alt_0", "hostile")
    started = time.monotonic()
    response = await user.post("/upload", form, token_from="/upload")
    text = await response.text()
    reason = re.search(r'class="error" id="[a-z_]+-error" role="alert">([^<]{0,160})', text)
    return time.monotonic() - started, f"{response.status} {reason.group(1).strip() if reason else ''}".strip()


async def big_anonymous_post(base: str, megabytes: int) -> tuple[float, str]:
    async def body():  # type: ignore[no-untyped-def]
        chunk = b"a" * (1 << 20)
        for _ in range(megabytes):
            yield chunk
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession() as http, http.post(
                base + "/login", data=body(), headers={"Content-Type": "application/x-www-form-urlencoded",
                                                        "Content-Length": str(megabytes << 20)}) as response:
            outcome = str(response.status)
    except aiohttp.ClientError as exc:  # the server may close the connection on a refused body
        outcome = f"closed ({type(exc).__name__})"
    return time.monotonic() - started, outcome


class Stalled:
    """Image URLs that never answer (the remote-media stall)."""

    def __init__(self) -> None:
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_get("/slow/{name}", self._slow)
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        self.base = ""

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await asyncio.sleep(3600)
        return web.Response(status=504)

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


async def signed_post(url: str, activity: dict, key_id: str, private_pem: str) -> int:
    body = json.dumps(activity).encode()
    headers = {"Content-Type": AP, **sign_request("POST", url, {}, body, key_id, private_pem)}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        return response.status


async def remote_stall(cara, ada: Browserless, images: int) -> tuple[Stalled, str]:  # type: ignore[no-untyped-def]
    """Ada follows an actor on a peer; the peer accepts and posts a work whose images never arrive."""
    stalled = Stalled()
    await stalled.start()
    async with running_peer() as peer:
        actor = peer.add_actor("painter")
        async with ada.http.get(f"{cara.url}/follow", params={"handle": f"painter@{peer.host}"},
                                allow_redirects=False) as found:
            profile = found.headers["Location"]
        _, page = await ada.get(profile)
        account_id = re.search(r"/accounts/(\d+)/follow", page).group(1)  # type: ignore[union-attr]
        await ada.post(f"/accounts/{account_id}/follow", {}, token_from=profile)
        follow = await eventually(lambda: _follow_in(peer), what="our Follow reaching the peer")
        inbox = f"{cara.url}/inbox"
        accept = peer.activity(actor, "Accept", follow)
        assert await signed_post(inbox, accept, actor.key_id, actor.private_pem) == 202
        await eventually(lambda: _unfollow_shown(ada, profile), what="the Accept")
        note = {"id": f"{peer.base}/notes/{uuid.uuid4().hex}", "type": "Note", "attributedTo": actor.id,
                "content": "<p>Twenty images</p>", "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "attachment": [{"type": "Image", "mediaType": "image/png", "url": f"{stalled.base}/slow/{n}.png",
                                "name": f"slow {n}"} for n in range(images)]}
        create = peer.activity(actor, "Create", note, to=note["to"])
        assert await signed_post(inbox, create, actor.key_id, actor.private_pem) == 202
    return stalled, profile


async def _follow_in(peer) -> dict | None:  # type: ignore[no-untyped-def]
    for _path, _headers, body in peer.received:
        activity = json.loads(body)
        if activity.get("type") == "Follow":
            return activity
    return None


async def _unfollow_shown(user: Browserless, profile: str) -> bool:
    return "Unfollow" in (await user.get(profile))[1]


def line(step: str, seconds: float, pid: int, outcome: str = "") -> None:
    now, peak = rss_mb(pid)
    print(f"  {step:<42} {seconds:7.2f} s   RSS {now:5.0f} MiB   peak {peak:5.0f} MiB   {outcome}", flush=True)


async def run(args: argparse.Namespace, root: Path) -> None:
    with running_instance(root / "cara") as cara:
        cara.cli("createuser", "ada", "--email", "ada@bench.example", "--password", "ada password")
        ada = Browserless(cara.url)
        try:
            await ada.login("ada", "ada password")
            start_now, _ = rss_mb(cara.pid)
            print(f"serve (embedded worker) pid {cara.pid}, RSS after start and login: {start_now:.0f} MiB")
            plain = [await timed_upload(ada, f"Plain {n}", [("p.jpg", photo(1600, 1200, n), "plain")])
                     for n in range(3)]
            ceiling = statistics.median(plain)
            line("ceiling: plain 2 MP upload (median of 3)", ceiling, cara.pid)

            took = await timed_upload(ada, "Zeros", [("z.png", zeros_png(7000), "zeros")])
            line("7000x7000 PNG of zeros (143 KB)", took, cara.pid, "published")
            took = await timed_upload(ada, "Frames", [("f.gif", many_frame_gif(1500), "frames")])
            line("1,500-frame GIF", took, cara.pid, "published (first frame)")
            took, outcome = await refused_upload(ada, "Header bomb", "b.png", header_bomb_png())
            line("PNG declaring 50,000 x 50,000 px", took, cara.pid, outcome)
            took = await timed_upload(ada, "Text bomb", [("t.png", ztxt_bomb_png(), "text bomb")])
            line("PNG with a 1 GB zTXt zip bomb", took, cara.pid, "published")
            took, outcome = await big_anonymous_post(cara.url, 100)
            line("100 MB anonymous POST /login", took, cara.pid, outcome)

            started = time.monotonic()
            await asyncio.gather(*[timed_upload(ada, f"Crowd {n}", [("c.jpg", photo(1600, 1200, 100 + n), "crowd")])
                                   for n in range(args.concurrent)])
            line(f"{args.concurrent} concurrent 2 MP uploads", time.monotonic() - started, cara.pid, "all published")

            stalled, _ = await remote_stall(cara, ada, args.stall)
            await eventually(lambda: _true(stalled.requests >= 2), what="remote fetches hanging")
            during = await timed_upload(ada, "During the stall", [("d.jpg", photo(1600, 1200, 999), "during")])
            line(f"plain upload while {args.stall} remote images stall", during, cara.pid,
                 f"{stalled.requests} fetches hanging")
            await stalled.runner.cleanup()
            _, peak = rss_mb(cara.pid)
        finally:
            await ada.close()
    ratio = during / ceiling
    print(f"\npeak RSS {peak:.0f} MiB (goal <= {GOAL_RSS_MB}): {'PASS' if peak <= GOAL_RSS_MB else 'FAIL'}")
    print(f"upload during the stall / ceiling = {ratio:.2f} (goal <= {GOAL_STALL_RATIO}): "
          f"{'PASS' if ratio <= GOAL_STALL_RATIO else 'FAIL'}")


async def _true(value: bool) -> bool:
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--stall", type=int, default=20)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cara-hostile-") as tmp:
        asyncio.run(run(args, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
