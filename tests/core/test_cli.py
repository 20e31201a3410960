"""The operator contract (DESIGN §6) through the real console entry point."""

import asyncio
import os
import subprocess
import sys

from sqlalchemy import func, select

from cara_fed.config import load_config
from cara_fed.context import Context
from cara_fed.models import Account, Artwork


def cli(tmp_path, *args: str) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_FED")}
    return subprocess.run([sys.executable, "-m", "cara_fed_run.cli", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_migrate_createuser_and_demo(tmp_path):
    assert cli(tmp_path, "migrate").returncode == 0
    assert (tmp_path / "data" / "cara-fed.db").is_file()  # default data_dir is ./data
    made = cli(tmp_path, "createuser", "studio_a", "--email", "a@example.org", "--password", "long enough",
               "--admin", "--kind", "studio")
    assert made.returncode == 0 and "created admin studio @studio_a" in made.stdout
    again = cli(tmp_path, "createuser", "studio_a", "--email", "b@example.org", "--password", "long enough")
    assert again.returncode == 1 and "already taken" in again.stderr
    short = cli(tmp_path, "createuser", "x", "--email", "x@example.org", "--password", "short")
    assert short.returncode == 1 and "at least 8 characters" in short.stderr
    skipped = cli(tmp_path, "demo")
    assert skipped.returncode == 0 and "already has accounts" in skipped.stdout


def test_demo_seeds_a_living_portfolio(tmp_path):
    seeded = cli(tmp_path, "demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "/@demo" in seeded.stdout

    async def counts():  # type: ignore[no-untyped-def]
        ctx = Context.create(load_config(environ={"CARA_FED__SERVER__DATA_DIR": str(tmp_path / "data")}))
        async with ctx.sessions() as session:
            published = await session.scalar(select(func.count()).select_from(Artwork)
                                             .where(Artwork.state == "published"))
            demo = await session.scalar(select(Account).where(Account.username == "demo"))
        await ctx.close()
        return published, demo

    published, demo = asyncio.run(counts())
    assert published >= 5  # processed inline by the demo command: the site is alive at once
    assert demo.open_to_work and "quiet landscapes" in demo.bio_html


def test_createuser_with_a_reserved_name_lists_the_reserved_names(tmp_path):
    assert cli(tmp_path, "migrate").returncode == 0
    refused = cli(tmp_path, "createuser", "admin", "--email", "a@example.org", "--password", "long enough", "--admin")
    assert refused.returncode == 1
    assert "“admin” is reserved" in refused.stderr
    listed = refused.stderr.split("Reserved names", 1)[1]
    for name in ("admin", "administrator", "instance", "root", "inbox"):
        assert name in listed
    assert "createuser mira" in refused.stderr  # and what to do instead


def test_docs_never_suggest_a_reserved_name_to_createuser():
    import re
    from pathlib import Path

    from cara_fed.text import RESERVED_USERNAMES

    root = Path(__file__).resolve().parents[2]
    for doc in [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]:
        for name in re.findall(r"createuser\s+([a-z0-9_]+)", doc.read_text()):
            assert name not in RESERVED_USERNAMES, f"{doc.name} suggests the reserved name {name!r}"
