"""Domain blocks as Mastodon's CSV (issue 18): export what we silence or suspend, import a shared blocklist.

The header is Mastodon's admin export (#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate),
the format shared blocklists and other servers (GoToSocial, Letterbook) read. An import is read and checked whole
before anything is written, then applied in one transaction with one audit-log row per domain: a bad file
changes nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Instance
from cara_fed.services import audit
from cara_fed.services.instances import DOMAIN_RE

HEADER = ["#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate"]
MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
SEVERITIES = {"silence": "silence", "suspend": "suspend", "noop": "none"}  # Mastodon's -> our policy
BOOLEANS = {"true": True, "false": False, "": False}


@dataclass(frozen=True)
class BlockRow:
    domain: str
    policy: str
    comment: str


async def export_csv(ctx: Context) -> str:
    """Silenced and suspended domains, by domain; the reason is the public comment. We have no reject-media,
    reject-reports or obfuscate switches, so those columns are false."""
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(Instance).where(Instance.policy.in_(("silence", "suspend")))
                                      .order_by(Instance.domain))).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([row.domain, row.policy, "false", "false", row.reason, "false"] for row in rows)
    return out.getvalue()


def _refuse(message: str) -> ValidationError:
    return ValidationError({"csv": f"{message} Nothing was imported."})


def read(data: bytes) -> list[BlockRow]:
    """Every row of a Mastodon domain-block CSV, checked; raises ValidationError naming the first problem."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"This file is larger than {MAX_BYTES // 1024:,} KiB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("This is not a CSV text file (it is not UTF-8).") from None
    if "\x00" in text:
        raise _refuse("This is not a CSV text file.")
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise _refuse(f"The CSV cannot be read ({exc}).") from None
    if not rows or [cell.strip().lower() for cell in rows[0]] != HEADER:
        raise _refuse(f"A domain-block CSV starts with Mastodon's header “{','.join(HEADER)}”.")
    rows = rows[1:]
    if len(rows) > MAX_ROWS:
        raise _refuse(f"This file lists {len(rows):,} domains; at most {MAX_ROWS:,} can be imported at once.")
    blocks: dict[str, BlockRow] = {}
    for number, row in enumerate(rows, start=2):
        if len(row) != len(HEADER):
            raise _refuse(f"Line {number} has {len(row)} columns, not {len(HEADER)}.")
        domain, severity, reject_media, reject_reports, comment, obfuscate = (cell.strip() for cell in row)
        domain = domain.lower()
        if not DOMAIN_RE.match(domain) or ":" in domain:
            raise _refuse(f"Line {number}: “{domain[:80]}” is not a domain name like example.social.")
        if severity.lower() not in SEVERITIES:
            raise _refuse(f"Line {number}: severity “{severity[:20]}” is not silence, suspend or noop.")
        for flag in (reject_media, reject_reports, obfuscate):
            if flag.lower() not in BOOLEANS:
                raise _refuse(f"Line {number}: “{flag[:20]}” is not true or false.")
        blocks[domain] = BlockRow(domain, SEVERITIES[severity.lower()], comment[:1000])  # a later row wins
    return list(blocks.values())


async def import_csv(ctx: Context, actor: Account, data: bytes) -> int:
    """Apply a checked file in one transaction (existing policies are overwritten); the number of domains."""
    blocks = read(data)
    async with ctx.transaction() as tx:
        known = {row.domain: row for row in (await tx.session.scalars(
            select(Instance).where(Instance.domain.in_([b.domain for b in blocks])))).all()} if blocks else {}
        for block in blocks:
            instance = known.get(block.domain)
            if instance is None:
                instance = Instance(domain=block.domain)
                tx.session.add(instance)
            instance.policy, instance.reason = block.policy, block.comment
            audit.record(tx.session, actor, f"domain.{block.policy}", block.domain,
                         f"imported from CSV: {block.comment}".rstrip(": "))
    return len(blocks)
