"""`cara-fed demo`: a demo artist with generated artworks, so a fresh instance shows a living site."""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account
from cara_fed.services import accounts, artworks, projects
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload

DEMO_USERNAME = "demo"

PIECES = [
    ("Dusk over the salt flats", "Illustration", "Digital 2D", ["landscape", "dusk", "colour"], (255, 140, 90)),
    ("Moth study", "Concept Art", "Digital 2D", ["creature", "study"], (120, 160, 220)),
    ("Harbour lights", "Environment Design", "Digital 2D", ["environment", "night"], (40, 70, 140)),
    ("Forest spirit", "Character Design", "Digital 2D", ["character", "forest"], (70, 160, 110)),
    ("Tidepool", "Illustration", "Traditional Painting", ["sea", "watercolour"], (60, 180, 190)),
    ("Paper cranes", "Graphic Design", "Mixed Media", ["pattern", "origami"], (230, 90, 120)),
]


def draw_piece(seed: int, base: tuple[int, int, int], size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A soft abstract 'painting': gradient sky, layered hills, a sun and scattered marks."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top = tuple(min(255, c + 60) for c in base)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(top[i] * (1 - t) + base[i] * 0.35 * t) for i in range(3)))
    sun_x, sun_y, radius = rng.randint(200, width - 200), rng.randint(150, height // 2), rng.randint(80, 180)
    draw.ellipse([sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius], fill=(255, 236, 200))
    for layer in range(5):
        shade = tuple(max(0, int(c * (0.9 - layer * 0.15))) for c in base)
        baseline = int(height * (0.45 + layer * 0.11))
        amplitude, phase, freq = rng.randint(30, 120), rng.random() * 6.28, rng.uniform(1.5, 4.0)
        points = [(x, baseline + int(amplitude * math.sin(phase + freq * x / width * 3.14)))
                  for x in range(0, width + 40, 40)]
        draw.polygon(points + [(width, height), (0, height)], fill=shade)
    for _ in range(120):
        x, y, r = rng.randint(0, width), rng.randint(0, height), rng.randint(2, 9)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(min(255, c + 90) for c in base))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def seed_demo(ctx: Context, password: str = "demo-password") -> bool:
    """Create the demo artist and works. Returns False when the database already has accounts."""
    async with ctx.sessions() as session:
        if await session.scalar(select(Account.id).limit(1)) is not None:
            return False
    try:
        async with ctx.transaction() as tx:
            artist = await accounts.create_account(ctx, tx, DEMO_USERNAME, "demo@example.invalid", password,
                                                   display_name="Mira Okafor (demo)", bypass_registration=True)
    except ValidationError:
        return False
    await accounts.update_profile(
        ctx, artist.id, display_name="Mira Okafor (demo)", location="Lisbon",
        bio="Illustrator and concept artist. I paint **quiet landscapes** and small creatures.\n\n"
            "This is a demo account created by `cara-fed demo`.",
        links=[{"name": "Shop", "url": "https://example.org/shop"}], skills=["Illustration", "Concept art", "Krita"],
        open_to_work=True, noai_default=True, locked=False, discoverable=True)
    created = []
    for index, (title, field, medium, tags, colour) in enumerate(PIECES):
        uploads = [Upload(draw_piece(index, colour), f"{tags[0]}.jpg", f"{title}: an abstract painted scene in "
                          f"shades of {'warm' if colour[0] > 150 else 'cool'} colour with layered hills.")]
        if index == 0:
            uploads.append(Upload(draw_piece(100, (200, 120, 160), (1200, 1600)), "detail.jpg",
                                  "A tall detail crop in pink tones."))
        work = await artworks.create_artwork(ctx, artist, ArtworkInput(
            title=title, description=f"*{title}* — made for the cara-fed demo.", tags=tags, field=field,
            medium=medium, software=["Krita"]), uploads)
        created.append(work.id)
    await artworks.set_pinned(ctx, artist, created[0], True)
    await projects.save_project(ctx, artist, "Landscapes", "Quiet places, painted slowly.",
                                [created[0], created[2], created[4]])
    return True
