"""Mastodon-compatible CSV exports (follows, followers, blocks, mutes) and reading a following CSV to import.

The headers are Mastodon's own (app/models/export.rb), so a file exported here imports there and back:
following_accounts.csv "Account address,Show boosts,Notify on new posts,Languages"; muted_accounts.csv
"Account address,Hide notifications"; blocked_accounts.csv has no header, one address a line. Mastodon has no
followers export; ours is "Account address" (for the artist's records: followers cannot be imported)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import aliased

from cara_fed.context import Context
from cara_fed.directory import HANDLE_RE
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Block, Follow, Mute

FOLLOWING_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MUTED_HEADER = ["Account address", "Hide notifications"]
FOLLOWERS_HEADER = ["Account address"]
EXPORTS = ("following_accounts", "followers", "blocked_accounts", "muted_accounts")


def address(ctx: Context, account: Account) -> str:
    return f"{account.username}@{account.domain or ctx.config.server.domain}"


def _write(rows: list[list[str]], header: list[str] | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


async def export_csv(ctx: Context, account: Account, name: str) -> str:
    """One of EXPORTS as CSV text (ordered by address, so two exports of the same state are equal)."""
    other = aliased(Account)
    async with ctx.sessions() as session:
        if name == "following_accounts":
            query = select(other).join(Follow, Follow.followee_id == other.id).where(
                Follow.follower_id == account.id, Follow.state.in_(("accepted", "requested")))
        elif name == "followers":
            query = select(other).join(Follow, Follow.follower_id == other.id).where(
                Follow.followee_id == account.id, Follow.state == "accepted")
        elif name == "blocked_accounts":
            query = select(other).join(Block, Block.target_id == other.id).where(Block.account_id == account.id)
        elif name == "muted_accounts":
            query = select(other).join(Mute, Mute.target_id == other.id).where(Mute.account_id == account.id)
        else:
            raise ValueError(name)
        people = sorted(address(ctx, a) for a in (await session.scalars(query)).unique().all())
    if name == "following_accounts":
        return _write([[p, "true", "false", ""] for p in people], FOLLOWING_HEADER)
    if name == "muted_accounts":
        return _write([[p, "true"] for p in people], MUTED_HEADER)
    if name == "followers":
        return _write([[p] for p in people], FOLLOWERS_HEADER)
    return _write([[p] for p in people], None)


def read_following(ctx: Context, data: bytes) -> list[str]:
    """The addresses of a following CSV (Mastodon's, with its header, or a bare list of addresses, as Mastodon
    also accepts), deduplicated in order. Raises ValidationError with one clear message; nothing is half-read."""
    limits = ctx.config.portability
    if len(data) > limits.csv_max_kb * 1024:
        raise ValidationError({"csv": f"This file is larger than {limits.csv_max_kb:,} KiB; split it up."})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"csv": "This is not a CSV text file (it is not UTF-8)."}) from None
    if "\x00" in text:
        raise ValidationError({"csv": "This is not a CSV text file."})
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValidationError({"csv": "The file is empty."})
    first = [cell.strip() for cell in rows[0]]
    if first and first[0] == "Account address":
        rows = rows[1:]
    elif not HANDLE_RE.match(first[0] if first else ""):
        raise ValidationError({"csv": "Unexpected columns: a following CSV starts with the header "
                                      f"“{','.join(FOLLOWING_HEADER)}” (Mastodon's export), or lists one "
                                      "address (name@server) a line."})
    if len(rows) > limits.csv_max_rows:
        raise ValidationError({"csv": f"This file lists {len(rows):,} accounts; at most {limits.csv_max_rows:,} "
                                      "can be imported at once. Split it into smaller files."})
    handles: list[str] = []
    for number, row in enumerate(rows, start=2 if first[0] == "Account address" else 1):
        cell = row[0].strip() if row else ""
        if not HANDLE_RE.match(cell):
            raise ValidationError({"csv": f"Line {number}: “{cell[:80]}” is not an account address "
                                          "(name@server). Nothing was imported."})
        handles.append(cell.lstrip("@").lower())
    if not handles:
        raise ValidationError({"csv": "The file lists no accounts."})
    return list(dict.fromkeys(handles))
