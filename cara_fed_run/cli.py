"""The `cara-fed` console script (operator contract: DESIGN.md §6)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from cara_fed.config import Config, ConfigError, load_config
from cara_fed.queue import QUEUES

log = logging.getLogger("cara_fed")


def _load(args: argparse.Namespace) -> Config:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        print("Configuration problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from cara_fed_run.serve import serve

    return serve(config)


def cmd_scheduler(config: Config, args: argparse.Namespace) -> int:
    from cara_fed_run.worker import run_scheduler_forever

    print("cara-fed scheduler (periodic sweeps and retention; one run per slot however many run)", flush=True)
    run_scheduler_forever(config)
    return 0


def cmd_worker(config: Config, args: argparse.Namespace) -> int:
    from cara_fed_run.worker import run_worker_forever

    queues = tuple(args.queue) if args.queue else QUEUES
    print(f"cara-fed worker for queues: {', '.join(queues)}", flush=True)
    run_worker_forever(config, queues)
    return 0


async def _with_ctx(config: Config, action, inline_jobs: bool = True):  # type: ignore[no-untyped-def]
    from cara_fed.context import Context
    from cara_fed.migrate import upgrade
    from cara_fed.queue import InlineJobs
    from cara_fed_run.worker import build_full_registry

    ctx = Context.create(config)
    try:
        await upgrade(ctx.engine)
        ctx.jobs = InlineJobs(build_full_registry(), lambda: ctx)
        return await action(ctx)
    finally:
        await ctx.close()


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    async def nothing(ctx) -> None:  # type: ignore[no-untyped-def]
        return None

    asyncio.run(_with_ctx(config, nothing))
    print("database is up to date")
    return 0


def cmd_createuser(config: Config, args: argparse.Namespace) -> int:
    from cara_fed.errors import ValidationError
    from cara_fed.services import accounts
    from cara_fed.text import RESERVED_USERNAMES

    async def create(ctx) -> str:  # type: ignore[no-untyped-def]
        async with ctx.transaction() as tx:
            account = await accounts.create_account(ctx, tx, args.name, args.email, args.password, kind=args.kind,
                                                    is_admin=args.admin, bypass_registration=True)
        return account.username

    try:
        name = asyncio.run(_with_ctx(config, create))
    except ValidationError as exc:
        for field, message in exc.errors.items():
            print(f"{field}: {message}", file=sys.stderr)
        if args.name.strip().lower() in RESERVED_USERNAMES:
            # Say which names are taken by the site itself, so the admin can pick another at once.
            print(f"Reserved names (used by the site's own pages and actors): {', '.join(sorted(RESERVED_USERNAMES))}."
                  f"\nPick a personal name instead, e.g. `cara-fed createuser mira --email … --password … --admin`.",
                  file=sys.stderr)
        return 1
    print(f"created {'admin ' if args.admin else ''}{args.kind} @{name}")
    return 0


def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    from cara_fed.demo import seed_demo

    async def seed(ctx) -> bool:  # type: ignore[no-untyped-def]
        return await seed_demo(ctx)

    if asyncio.run(_with_ctx(config, seed)):
        print(f"seeded the demo artist: {config.base_url}/@demo (log in as demo / demo-password)")
    else:
        print("the database already has accounts; demo not seeded")
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    print(f"configuration OK ({config.source})")
    print(f"  public URL: {config.base_url}")
    print(f"  database:   {config.database_url}")
    print(f"  jobs:       {config.jobs.backend}{' (worker inside serve)' if config.jobs.embedded_worker else ''}")
    if config.server.scheme == "http" and not config.server.domain.startswith(("127.", "localhost")):
        print("  warning: scheme is http on a public domain; use https in production")
    if config.federation.allow_private_addresses:
        print("  warning: allow_private_addresses is on; only for local development and tests")
    return 0


def cmd_media(config: Config, args: argparse.Namespace) -> int:
    from cara_fed import media_admin
    from cara_fed.storage import make_store

    async def run(ctx) -> int:  # type: ignore[no-untyped-def]
        if args.media_command == "setup":
            print(await media_admin.setup(ctx.storage))
            return 0
        if args.media_command == "sync-public":
            from cara_fed.services import public_media

            done = await public_media.sync_all(ctx)
            where = config.storage.public_base_url or "nowhere ([storage] public_base_url is empty)"
            print(f"public media at {where}: {done}")
            return 0
        if args.source == args.target:
            print("--from and --to name the same backend; nothing to do", file=sys.stderr)
            return 2
        source, target = make_store(config, args.source), make_store(config, args.target)
        try:
            await media_admin.setup(target)
            report = await media_admin.migrate(source, target, delete_source=args.delete_source,
                                               plain_keys=await media_admin.plain_keys(ctx))
        finally:
            await source.close()
            await target.close()
        print(f"media {args.source} -> {args.target}: {report}")
        if config.storage.backend != args.target:
            print(f"  now set [storage] backend = \"{args.target}\" and restart")
        return 0

    return asyncio.run(_with_ctx(config, run))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cara-fed", description="Federated artist portfolio server")
    parser.add_argument("--config", help="TOML config file (default: $CARA_FED_CONFIG, else built-in defaults)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the web server (with the worker inside by default)")
    worker = sub.add_parser("worker", help="run background workers")
    worker.add_argument("--queue", action="append", choices=QUEUES, help="queue to consume (repeatable; default all)")
    sub.add_parser("scheduler", help="run periodic jobs (sweeps, retention); see [jobs] separate_scheduler")
    sub.add_parser("migrate", help="migrate the database to the latest schema")
    create = sub.add_parser("createuser", help="create a local account")
    create.add_argument("name")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--admin", action="store_true")
    create.add_argument("--kind", choices=("artist", "studio"), default="artist")
    sub.add_parser("demo", help="seed a demo artist with generated artworks (only into an empty database)")
    sub.add_parser("check", help="validate the configuration")
    media = sub.add_parser("media", help="media store: set it up, or move media between backends")
    media_sub = media.add_subparsers(dest="media_command", required=True)
    media_sub.add_parser("setup", help="create the configured S3 bucket if it is missing")
    media_sub.add_parser("sync-public", help="copy public works' files to the store's published area for "
                         "[storage] public_base_url, and remove copies that should not be there (idempotent)")
    migrate = media_sub.add_parser("migrate", help="copy all media from one backend to the other (idempotent)")
    migrate.add_argument("--from", dest="source", choices=("local", "s3"), default="local")
    migrate.add_argument("--to", dest="target", choices=("local", "s3"), default="s3")
    migrate.add_argument("--delete-source", action="store_true", help="remove each object once it is copied")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    config = _load(args)
    from cara_fed.observe import configure_logging

    configure_logging(config.server.log_format)
    handler = {"serve": cmd_serve, "worker": cmd_worker, "scheduler": cmd_scheduler, "migrate": cmd_migrate,
               "createuser": cmd_createuser, "demo": cmd_demo, "check": cmd_check,
               "media": cmd_media}[args.command]
    return handler(config, args)


if __name__ == "__main__":
    raise SystemExit(main())
