"""Our own side of an IRI: the local account or artwork it names.

Read by the inbound handlers and by lookup (what a pasted address names).
"""

from __future__ import annotations

from cara_fed import urls
from cara_fed.context import Context
from cara_fed.models import Account, Artwork
from cara_fed.queries import local_account


async def local_from(ctx: Context, uri: str | None) -> Account | None:
    """Our active account behind an actor IRI (`/users/{name}`, `/@{name}` or the instance actor's `/actor`)."""
    found = urls.parse(ctx.config.base_url, uri)
    if found is None or found.kind not in ("actor", "profile", "instance_actor"):
        return None
    name = "instance" if found.kind == "instance_actor" else found.name
    async with ctx.sessions() as session:
        account = await local_account(session, name or "")
    return account if account is not None and account.status == "active" else None


async def local_artwork_from(ctx: Context, uri: str | None) -> Artwork | None:
    """Our artwork behind `{base}/@{name}/{id}` (the id our Notes carry), in any state."""
    found = urls.parse(ctx.config.base_url, uri)
    if found is None or found.kind != "artwork" or found.id is None:
        return None
    async with ctx.sessions() as session:
        work = await session.get(Artwork, found.id)
    if work is None or not work.account.is_local or work.account.username != (found.name or "").lower():
        return None
    return work
