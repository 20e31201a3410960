"""Our own side of an IRI: the local account or artwork it names.

Read by the inbound handlers and by lookup (what a pasted address names).
"""

from __future__ import annotations

import re

from cara_fed.context import Context
from cara_fed.models import Account, Artwork
from cara_fed.numbers import parse_id
from cara_fed.queries import local_account


async def local_from(ctx: Context, uri: str | None) -> Account | None:
    """Our account behind an actor IRI (`/users/{name}`, `/@{name}` or the instance actor's `/actor`)."""
    base = ctx.config.base_url
    if not uri or not uri.startswith(base + "/"):
        return None
    path = uri[len(base):].split("#", 1)[0].rstrip("/")
    match = re.fullmatch(r"/(?:users/|@)([A-Za-z0-9_]{1,64})", path)
    name = "instance" if path == "/actor" else match.group(1) if match else None
    if name is None:
        return None
    async with ctx.sessions() as session:
        account = await local_account(session, name)
    return account if account is not None and account.status == "active" else None


async def local_artwork_from(ctx: Context, uri: str) -> Artwork | None:
    """Our artwork behind `{base}/@{name}/{id}` (the id our Notes carry)."""
    base = ctx.config.base_url + "/@"
    if not uri.startswith(base):
        return None
    name, _, tail = uri[len(base):].partition("/")
    number = parse_id(tail)
    if number is None:
        return None
    async with ctx.sessions() as session:
        work = await session.get(Artwork, number)
    if work is None or not work.account.is_local or work.account.username != name.lower():
        return None
    return work
