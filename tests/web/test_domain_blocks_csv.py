"""Domain blocks as Mastodon's CSV (issue 18): export, import round trip, and bad files refused whole (wrong
header, too many rows, bad domains or values, not text) with nothing half-imported. SQLite and PostgreSQL."""

import aiohttp
from sqlalchemy import select

from cara_fed.models import AuditEntry, Instance
from cara_fed.services import domain_blocks_csv
from tests.conftest import csrf_from, sign_up
from tests.web.test_admin import make_admin

HEADER = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"


async def _import(client, body: bytes | str, token_from: str = "/admin"):  # type: ignore[no-untyped-def]
    form = aiohttp.FormData()
    form.add_field("csrf_token", await csrf_from(client, token_from))
    form.add_field("csv", body.encode() if isinstance(body, str) else body, filename="blocks.csv",
                   content_type="text/csv")
    return await client.post("/admin/domain_blocks/import", data=form)


async def _policies(ctx) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with ctx.sessions() as session:
        return {row.domain: (row.policy, row.reason) for row in (await session.scalars(select(Instance))).all()}


async def test_import_then_export_round_trips(client, ctx):
    await make_admin(ctx, client)
    token = await csrf_from(client, "/admin")
    await client.post("/admin/instances", data={"csrf_token": token, "domain": "old.example", "policy": "silence",
                                                "reason": "was quiet"}, allow_redirects=False)
    imported = await _import(client, HEADER + "Spam.Example,suspend,TRUE,false,\"spam, mostly\",false\n"
                                     "old.example,noop,false,false,,false\n"
                                     "loud.example,silence,false,false,loud,true\n")
    assert imported.status == 200 and "Imported 3 domains." in await imported.text()
    assert await _policies(ctx) == {"spam.example": ("suspend", "spam, mostly"), "old.example": ("none", ""),
                                    "loud.example": ("silence", "loud")}
    async with ctx.sessions() as session:
        logged = [(r.action, r.target, r.reason) for r in
                  (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()]
    assert logged[1:] == [("domain.suspend", "spam.example", "imported from CSV: spam, mostly"),
                          ("domain.none", "old.example", "imported from CSV"),
                          ("domain.silence", "loud.example", "imported from CSV: loud")]
    exported = await client.get("/admin/domain_blocks.csv")
    assert exported.status == 200 and exported.content_type == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    assert await exported.text() == (HEADER + "loud.example,silence,false,false,loud,false\n"
                                     "spam.example,suspend,false,false,\"spam, mostly\",false\n")


async def test_bad_files_are_refused_whole(client, ctx):
    await make_admin(ctx, client)
    good_line = "fine.example,suspend,false,false,,false\n"
    too_many = HEADER + "".join(f"d{n}.example,silence,false,false,,false\n"
                                for n in range(domain_blocks_csv.MAX_ROWS + 1))
    cases = {
        "A domain-block CSV starts with Mastodon": "domain,severity\nfine.example,suspend\n",
        "at most 5,000 can be imported": too_many,
        "is not a domain name": HEADER + good_line + "not a domain!,suspend,false,false,,false\n",
        "“evil.example:8080” is not a domain": HEADER + good_line + "evil.example:8080,silence,false,false,,false\n",
        "is not silence, suspend or noop": HEADER + good_line + "x.example,destroy,false,false,,false\n",
        "is not true or false": HEADER + good_line + "x.example,silence,maybe,false,,false\n",
        "has 2 columns, not 6": HEADER + good_line + "x.example,silence\n",
        "not UTF-8": HEADER.encode() + b"caf\xe9.example,silence,false,false,,false\n",
        "is not a CSV text file": HEADER + "x\x00.example,silence,false,false,,false\n",
        "larger than 1,024 KiB": HEADER + "a" * (domain_blocks_csv.MAX_BYTES + 10),
    }
    for message, body in cases.items():
        refused = await _import(client, body)
        text = await refused.text()
        assert refused.status == 400 and message in text and "Nothing was imported." in text, message
    missing = await client.post("/admin/domain_blocks/import", data={"csrf_token": await csrf_from(client, "/admin")})
    assert missing.status == 400 and "Choose a CSV file" in await missing.text()
    assert await _policies(ctx) == {}  # not even fine.example, which came before each bad line
    async with ctx.sessions() as session:
        assert (await session.scalars(select(AuditEntry))).all() == []


async def test_only_admins_import_and_export(client, ctx):
    await sign_up(client, "ada")
    assert (await client.get("/admin/domain_blocks.csv")).status == 403
    refused = await _import(client, HEADER + "x.example,suspend,false,false,,false\n", token_from="/settings")
    assert refused.status == 403
    assert await _policies(ctx) == {}
