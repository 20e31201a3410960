"""Cloaking bench: the honest table, seconds per megapixel, and a mimicry proxy. CPU, reproducible.

    nice -n 10 .venv/bin/python bench/cloak.py                 # the figures in docs/cloaking.md
    nice -n 10 .venv/bin/python bench/cloak.py --quick         # a smoke run (minutes)
    nice -n 10 .venv/bin/python bench/cloak.py --parts painting  # one part of the full run

1. A fixed set of pictures drawn here (a line drawing, a painting, a photo-like scene) at a served size is
   cloaked with the built-in engine; for each, the protection panel: PSNR, SSIM, and the embedding shift on
   CLIP (attacked) and MobileNetV2 (held out) after our JPEG derivative + JPEG q75, + resize x0.5, + noise
   sigma 0.05 and 2x resample, beside the same transformation of the uncloaked image and beside random noise of
   the same budget. Goal columns: gain over the transform-only baseline (>= 0.25 JPEG, >= 0.15 noise on
   CLIP; >= 0.10 held out).
2. Seconds per megapixel of cloaking, against the 3 min/MP ceiling.
3. Mimicry proxy: >= 10 synthetic "artists" (each a palette, a mark-making habit, a texture) x 10 works.
   Nearest-centroid attribution on the held-out encoder, centroids from clean works; accuracy on the held-out
   works clean vs cloaked, both after JPEG q75. Goal: a drop of >= 30 points.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protection.cloak import CloakSettings  # noqa: E402
from protection.cloak.adversarial import encoder  # noqa: E402
from protection.cloak.attack import cloak_rgb, embed  # noqa: E402
from protection.cloak.measure import measure  # noqa: E402

CEILING_S_PER_MP = 180.0
PARTS = ("drawing", "painting", "photo", "attribution")


def drawing(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), (248, 246, 240))
    d = ImageDraw.Draw(im)
    for _ in range(40):
        pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)]
        d.line(pts, fill=(25, 25, 30), width=int(rng.integers(1, 4)), joint="curve")
    for _ in range(6):
        x, y, r = (int(v) for v in (*rng.integers(0, size, 2), rng.integers(size // 20, size // 6)))
        d.ellipse((x - r, y - r, x + r, y + r), outline=(25, 25, 30), width=2)
    return np.asarray(im)


def painting(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(40, 200, 3)))
    d = ImageDraw.Draw(im)
    for _ in range(400):
        x, y = (int(v) for v in rng.integers(0, size, 2))
        dx, dy = (int(v) for v in rng.integers(-size // 10, size // 10, 2))
        d.line((x, y, x + dx, y + dy), fill=tuple(int(v) for v in rng.integers(0, 255, 3)),
               width=int(rng.integers(size // 80 + 1, size // 25 + 2)))
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(size / 400))).astype(np.float32)
    return np.clip(arr + rng.normal(0, 5, arr.shape), 0, 255).astype(np.uint8)


def photo(size: int, seed: int) -> np.ndarray:
    """Sky gradient, hills, a sun, soft focus and sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    sky = np.stack([120 + 80 * yy, 160 + 60 * yy, 230 - 30 * yy], -1)
    hills = (yy > 0.55 + 0.08 * np.sin(xx * 9 + seed) + 0.04 * np.sin(xx * 23))[..., None]
    ground = np.stack([60 + 40 * yy, 110 + 30 * np.sin(xx * 40), 50 + 10 * yy], -1)
    sun = (((xx - 0.7) ** 2 + (yy - 0.25) ** 2) < 0.005)[..., None]
    arr = np.where(hills, ground, sky)
    arr = np.where(sun, np.array([255, 240, 200]), arr)
    im = Image.fromarray(arr.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    return np.clip(np.asarray(im) + rng.normal(0, 4, (size, size, 3)), 0, 255).astype(np.uint8)


SHARED_PALETTES = 3


def artist_work(artist: int, work: int, size: int) -> np.ndarray:
    """Artist = mark (dabs, strokes, blocks, rings) + mark size + softness + grain; work = composition.

    Colour is not the artist's signature: the artists share SHARED_PALETTES palettes (artist % 3), and each
    work shifts its palette a little, so attribution has to go by mark-making, the thing style mimicry copies.
    Palette and mark together still tell the 10 artists apart (artist % 3, artist % 4 repeat only every 12).
    """
    style = np.random.default_rng(1000 + artist)
    rng = np.random.default_rng(artist * 100 + work)
    base = np.random.default_rng(500 + artist % SHARED_PALETTES).integers(30, 225, (4, 3))
    palette = np.clip(base + rng.integers(-25, 26, (4, 3)), 0, 255)
    mark, blur, grain = artist % 4, style.uniform(0, 2.5), style.uniform(0, 14)
    im = Image.new("RGB", (size, size), tuple(int(v) for v in palette[0]))
    d = ImageDraw.Draw(im)
    for _ in range(int(style.integers(30, 120))):
        c = tuple(int(v) for v in palette[rng.integers(1, 4)])
        x, y = (int(v) for v in rng.integers(0, size, 2))
        r = int(rng.integers(size // 40 + 1, size // 8))
        if mark == 0:
            d.ellipse((x - r, y - r, x + r, y + r), fill=c)
        elif mark == 1:
            d.line((x, y, x + r * 2, y + int(rng.integers(-r, r))), fill=c, width=max(1, r // 4))
        elif mark == 2:
            d.rectangle((x, y, x + r, y + r * 2), fill=c)
        else:
            d.ellipse((x - r, y - r, x + r, y + r), outline=c, width=max(1, r // 5))
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(blur))).astype(np.float32)
    return np.clip(arr + rng.normal(0, grain, arr.shape), 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def held_out_embedding(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    import torch

    from protection.cloak.transforms import center_view, to_tensor

    with torch.no_grad():
        return embed(encoder("mobilenet"), center_view(to_tensor(rgb)))[0].numpy()


def attribution(artists: int, works: int, test: int, size: int, settings: CloakSettings) -> dict:
    train, tests = [], []
    for a in range(artists):
        for w in range(works):
            (tests if w >= works - test else train).append((a, artist_work(a, w, size)))
    centroids = np.stack([np.mean([held_out_embedding(jpeg(img, 75)) for a, img in train if a == k], axis=0)
                          for k in range(artists)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    clip = encoder("clip")
    correct = {"clean": 0, "cloaked": 0}
    started = time.monotonic()
    for index, (a, img) in enumerate(tests):
        cloaked, _ = cloak_rgb(img, CloakSettings(seed=settings.seed + index, steps=settings.steps,
                                                  views=settings.views, threads=settings.threads), clip)
        for name, candidate in (("clean", img), ("cloaked", cloaked)):
            guess = int(np.argmax(centroids @ held_out_embedding(jpeg(candidate, 75))))
            correct[name] += guess == a
    n = len(tests)
    return {"artists": artists, "works_per_artist": works, "test_works": n, "size": size,
            "accuracy_clean": round(100 * correct["clean"] / n, 1),
            "accuracy_cloaked": round(100 * correct["cloaked"] / n, 1),
            "drop_points": round(100 * (correct["clean"] - correct["cloaked"]) / n, 1),
            "cloak_seconds": round(time.monotonic() - started, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="served long edge of the fixed set")
    ap.add_argument("--steps", type=int, default=CloakSettings.steps)
    ap.add_argument("--views", type=int, default=CloakSettings.views)
    ap.add_argument("--artists", type=int, default=10)
    ap.add_argument("--works", type=int, default=10)
    ap.add_argument("--test-works", type=int, default=3, help="works per artist held out for attribution")
    ap.add_argument("--proxy-size", type=int, default=256)
    ap.add_argument("--proxy-steps", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="small and few steps: a smoke run")
    ap.add_argument("--threads", type=int, default=CloakSettings.threads, help="torch threads")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help=f"comma-separated subset of {','.join(PARTS)} (the goal lines need all of them)")
    ap.add_argument("--json", help="also write all figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.size, args.steps, args.views, args.proxy_steps, args.test_works = 384, 4, 1, 2, 1
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        ap.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    import torch

    torch.set_num_threads(args.threads)
    settings = CloakSettings(seed=0, steps=args.steps, views=args.views, threads=args.threads)
    clip, held_out = encoder("clip"), encoder("mobilenet")
    figures: dict = {"settings": {"steps": args.steps, "views": args.views, "size": args.size}, "images": {}}
    total_s, total_mp = 0.0, 0.0
    print(f"cloaking bench: steps {args.steps} x {args.views} views, target PSNR {settings.target_psnr} dB")
    header = (f"{'image':9} {'PSNR':>6} {'SSIM':>6} {'enc':5} {'after':15} {'cloaked':>8} {'uncloak':>8} "
              f"{'random':>8} {'gain':>7}")
    print(header)
    for name, make in (("drawing", drawing), ("painting", painting), ("photo", photo)):
        if name not in parts:
            continue
        rgb = make(args.size, 11)
        started = time.monotonic()
        out, report = cloak_rgb(rgb, settings, clip)
        seconds = time.monotonic() - started
        total_s += seconds
        total_mp += rgb.shape[0] * rgb.shape[1] / 1e6
        panel = measure(rgb, out, {"clip": clip, "mobilenet": held_out}, seed=0)
        figures["images"][name] = {"cloak": report, "panel": panel, "seconds": round(seconds, 1)}
        for enc, rows in panel["encoders"].items():
            for t, row in rows.items():
                print(f"{name:9} {panel['psnr']:6.2f} {panel['ssim']:6.3f} {enc[:5]:5} {t:15} {row['cloaked']:8.3f} "
                      f"{row['uncloaked']:8.3f} {row['random']:8.3f} {row['gain']:7.3f}")
    if total_mp:
        s_per_mp = total_s / total_mp
        figures["seconds_per_megapixel"] = round(s_per_mp, 1)
        print(f"\nseconds per megapixel: {s_per_mp:.1f} (ceiling {CEILING_S_PER_MP:.0f}; ratio "
              f"{s_per_mp / CEILING_S_PER_MP:.2f}; wall time on {args.threads} threads)")

    def mean_gain(enc: str, t: str) -> float:
        return float(np.mean([f["panel"]["encoders"][enc][t]["gain"] for f in figures["images"].values()]))

    goals = []
    if figures["images"]:
        goals += [("CLIP gain after JPEG derivative + q75", mean_gain("clip", "jpeg75"), 0.25),
                  ("CLIP gain after noise 0.05 + 2x resample", mean_gain("clip", "noise_resample"), 0.15),
                  ("held-out gain after JPEG derivative + q75", mean_gain("mobilenet", "jpeg75"), 0.10)]
    if "attribution" in parts:
        proxy = attribution(args.artists, args.works, args.test_works, args.proxy_size,
                            CloakSettings(seed=100, steps=args.proxy_steps, views=1, threads=args.threads))
        figures["attribution"] = proxy
        goals.append(("attribution drop (points, held-out, JPEG q75)", proxy["drop_points"], 30.0))
        print(f"\nmimicry proxy: {proxy['artists']} artists x {proxy['works_per_artist']} works, "
              f"{proxy['test_works']} held-out works: accuracy clean {proxy['accuracy_clean']} %, "
              f"cloaked {proxy['accuracy_cloaked']} % (drop {proxy['drop_points']} points)")
    print("\ngoal                                              measured    goal   met")
    for label, value, goal in goals:
        print(f"{label:48} {value:9.3f} {goal:7.2f}   {'yes' if value >= goal else 'NO'}")
    figures["goals"] = [{"goal": label, "measured": round(v, 3), "target": g} for label, v, g in goals]
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
