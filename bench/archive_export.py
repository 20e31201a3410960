"""Benchmark building a portfolio archive: the zip must be streamed to disk, not built in memory.

    python bench/archive_export.py [--works 40] [--megapixels 3]

Sets up an embedded (SQLite + local media) instance in a temporary folder with one artist whose works each hold a
noisy JPEG original (noise does not compress: the zip is about works x original size), then runs the real
`build_export` job and reports the process's peak resident memory growth during the build against the archive's
size, measured in the same run (building it in memory would cost at least that). Goal (issue 18): growth well
under the archive size (ratio < 0.5) — one original at a time. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as a script from the repo root

from cara_fed import memory  # noqa: E402
from cara_fed.config import load_config  # noqa: E402
from cara_fed.context import Context  # noqa: E402
from cara_fed.migrate import upgrade  # noqa: E402
from cara_fed.models import DataExport  # noqa: E402
from cara_fed.queue import InlineJobs  # noqa: E402
from cara_fed.services import accounts, archive_export, artworks  # noqa: E402
from cara_fed.services.media import Upload  # noqa: E402
from cara_fed_run.worker import build_full_registry  # noqa: E402


def rss_mib() -> float:
    """Resident memory now (ru_maxrss is the peak since start, which the setup already pushed up)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / (1024 * 1024)


class Sampler:
    """The highest resident memory seen while it runs, polled every 2 ms from a thread."""

    def __init__(self) -> None:
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib())
            time.sleep(0.002)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def noise_jpeg(megapixels: float) -> bytes:
    side = int((megapixels * 1_000_000) ** 0.5)
    pixels = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return out.getvalue()


async def main(works: int, megapixels: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(environ={"CARA_FED__SERVER__DATA_DIR": folder})
        ctx = Context.create(config)
        await upgrade(ctx.engine)
        registry = build_full_registry()

        async def later(ctx, *ids):  # type: ignore[no-untyped-def]
            return None
        registry.register("protect_media", "media", later)  # originals are what the archive holds
        registry.register("build_export", "media", later)  # run below, measured
        ctx.jobs = InlineJobs(registry, lambda: ctx)
        async with ctx.transaction() as tx:
            artist = await accounts.create_account(ctx, tx, "bench", "bench@example.org", "bench password 1",
                                                   bypass_registration=True)
        original = noise_jpeg(megapixels)
        for n in range(works):
            await artworks.create_artwork(ctx, artist, artworks.ArtworkInput(title=f"Work {n}"),
                                          [Upload(original, f"{n}.jpg", "noise")])
        row = await archive_export.request(ctx, artist)
        from federation.outbound.portfolio_export import build_export

        del original
        memory.trim()
        before, started = rss_mib(), time.perf_counter()
        with Sampler() as sampler:
            await build_export(ctx, row.id)
        seconds, growth = time.perf_counter() - started, sampler.peak - before
        async with ctx.sessions() as session:
            done = await session.get(DataExport, row.id)
        size = done.size / (1024 * 1024)
        await ctx.close()
    print(f"works: {works}, original: {size / works:.1f} MiB each, state: {done.state}")
    print(f"archive: {size:.1f} MiB written in {seconds:.2f} s ({size / seconds:.0f} MiB/s)")
    print(f"peak resident memory growth during the build: {growth:.1f} MiB; ratio to archive size: {growth / size:.3f} "
          f"(goal < 0.5: {'met' if growth / size < 0.5 else 'NOT met'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=40)
    parser.add_argument("--megapixels", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.works, args.megapixels))
