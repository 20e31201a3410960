"""Serving one ~200 KB derivative: from local disk through us, from SeaweedFS (S3) through us (with the default
read cache, and with it off: every request a signed S3 GET), straight from SeaweedFS (the ceiling for the S3
path: the store's own GET), and, when nginx is installed, its public copy through the documented media site
(docs/deploy.md: nginx in front of the bucket's published/ area, with its short cache) — what
[storage] public_base_url hands out — measured in the same run.

Seeds one public derivative (an avatar-like asset: public, NoAI) into a local-disk instance and an S3 instance,
starts `cara-fed serve` for each (media rate limit off), and loads each URL with wrk (Debian package; this bench
refuses to run without it: the Python load generator would be the bottleneck). Usage:
    .venv/bin/python bench/media_store.py [--seconds 6] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.flows.test_deploy import NGINX  # noqa: E402
from tests.instance import running_instance  # noqa: E402
from tests.seaweed import run_seaweed  # noqa: E402

TARGET_BYTES = 200_000


def derivative_jpeg() -> bytes:
    """A noisy JPEG of about 200 KB (noise does not compress, so the size is easy to hit)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    side = 300
    while True:
        pixels = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=85)
        if out.tell() >= TARGET_BYTES:
            return out.getvalue()
        side += 20


async def seed(settings: dict[str, str], data: bytes) -> str:
    """One account with one public derivative; returns its key."""
    from cara_fed.config import load_config
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.models import MediaAsset, MediaDerivative
    from cara_fed.services.accounts import create_account
    from cara_fed.storage import content_key, object_headers

    ctx = Context.create(load_config(environ=settings))
    try:
        await upgrade(ctx.engine)
        ensure = getattr(ctx.storage, "ensure_bucket", None)
        if ensure is not None:
            await ensure()
        key = content_key(data, ".jpg", salt="bench")
        await ctx.storage.put("public", key, data, object_headers(key, noai=True))
        await ctx.storage.put("published", key, data, object_headers(key, noai=True))  # as sync-public writes
        async with ctx.transaction() as tx:
            account = await create_account(ctx, tx, "bench", "bench@example.test", "correct horse 1")
            asset = MediaAsset(account_id=account.id, purpose="avatar", state="ready", original_type="image/jpeg",
                               original_size=len(data))
            asset.derivatives = [MediaDerivative(long_edge=1, format="jpeg", content_type="image/jpeg", width=1,
                                                 height=1, size=len(data), key=key)]
            tx.session.add(asset)
        return key
    finally:
        await ctx.close()


@contextmanager
def media_site(root: Path, store: str) -> Iterator[str]:
    """docs/deploy.md's media site (the tested block) on a free port, in front of the bench bucket."""
    from tests.flows.test_media_cdn import media_site as site
    from tests.instance import free_port

    port = free_port()
    with site(root / "nginx", port, store, "bench-media"):
        yield f"http://127.0.0.1:{port}"


def wrk(url: str, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", url], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk run failed:\n{out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/media_store.py needs wrk: apt-get install -y wrk")
    data = derivative_jpeg()
    with tempfile.TemporaryDirectory() as tmp, run_seaweed(Path(tmp) / "seaweed") as seaweed:
        root = Path(tmp)
        common = {"CARA_FED__PROTECTION__MEDIA_RATE_LIMIT_PER_MINUTE": "0"}
        local = {**common, "CARA_FED__SERVER__DATA_DIR": str(root / "local" / "data")}
        s3 = {**common, "CARA_FED__SERVER__DATA_DIR": str(root / "s3" / "data"),
              "CARA_FED__STORAGE__BACKEND": "s3", "CARA_FED__STORAGE__S3_ENDPOINT": seaweed.endpoint,
              "CARA_FED__STORAGE__S3_BUCKET": "bench-media", "CARA_FED__STORAGE__S3_ACCESS_KEY": "bench",
              "CARA_FED__STORAGE__S3_SECRET_KEY": "bench"}
        uncached = {**s3, "CARA_FED__SERVER__DATA_DIR": str(root / "s3-uncached" / "data"),
                    "CARA_FED__STORAGE__S3_READ_CACHE_MB": "0"}
        key = asyncio.run(seed(local, data))
        assert asyncio.run(seed(s3, data)) == key
        assert asyncio.run(seed(uncached, data)) == key
        direct = f"{seaweed.endpoint}/bench-media/public/{key}"
        with running_instance(root / "local", settings=local) as ours_local, \
                running_instance(root / "s3", settings=s3) as ours_s3, \
                running_instance(root / "s3-uncached", settings=uncached) as ours_uncached, ExitStack() as stack:
            urls = {"local disk via us": f"{ours_local.url}/media/{key}",
                    "SeaweedFS via us": f"{ours_s3.url}/media/{key}",
                    "  same, no cache": f"{ours_uncached.url}/media/{key}", "SeaweedFS direct": direct}
            cdn = stack.enter_context(media_site(root, seaweed.endpoint)) if Path(NGINX).exists() else None
            if cdn is not None:
                urls["published via nginx"] = f"{cdn}/{key}"
            results: dict[str, list[float]] = {name: [] for name in urls}
            for url in urls.values():
                wrk(url, 1, args.connections)  # warm-up (access cache, connection pools)
            for _ in range(args.rounds):  # interleaved so machine noise hits all alike
                for name, url in urls.items():
                    results[name].append(wrk(url, args.seconds, args.connections))
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"derivative: {len(data):,} bytes; wrk -t2 -c{args.connections}, {args.rounds} rounds x {args.seconds}s")
    for name, values in results.items():
        print(f"{name:20} {medians[name]:8,.0f} req/s  (rounds: {', '.join(f'{v:,.0f}' for v in values)})")
    via_local, via_s3 = medians["local disk via us"], medians["SeaweedFS via us"]
    direct_s3 = medians["SeaweedFS direct"]
    print(f"S3 via us / S3 direct (the store's own ceiling): {via_s3 / direct_s3:.2f} with the read cache, "
          f"{medians['  same, no cache'] / direct_s3:.2f} without")
    print(f"S3 via us / local disk via us: {via_s3 / via_local:.2f}")
    if "published via nginx" in medians:
        print(f"published via nginx / local disk via us: {medians['published via nginx'] / via_local:.2f}")


if __name__ == "__main__":
    main()
