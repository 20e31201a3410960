"""Building an entities.View for a page: the viewer plus the batch-loaded facts of its statuses and accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed import queries_accounts, queries_api
from cara_fed.context import CONTEXT_KEY
from cara_fed.models import Account, Artwork
from cara_fed.queries_statuses import StatusWork
from web.api.base import viewer as request_viewer
from web.api.entities import View


async def view_for(request: web.Request, session: AsyncSession, *, artworks: Iterable[Artwork | StatusWork] = (),
                   accounts: Iterable[Account] = ()) -> View:
    """Facts for these artworks (counts, the viewer's marks) and for their authors plus `accounts`."""
    config = request.app[CONTEXT_KEY].config
    return await facts_view(session, config.base_url, await request_viewer(request), artworks=artworks,
                            accounts=accounts, media_base=config.storage.public_base_url)


async def facts_view(session: AsyncSession, base: str, viewer: Account | None, *,
                     artworks: Iterable[Artwork | StatusWork] = (),
                     accounts: Iterable[Account] = (), media_base: str = "") -> View:
    works = list(artworks)
    people = {a.id: a for a in [*accounts, *(w.account for w in works)]}
    await queries_accounts.fill_moves(session, people.values())  # ORM accounts read without their move
    for person in list(people.values()):  # where they moved: shown with its avatar and counts too (`moved`)
        if person.moved_target is not None:
            people.setdefault(person.moved_target.id, person.moved_target)
    statuses, found = await queries_api.page_facts(session, [w.id for w in works], people.values(),
                                                   viewer.id if viewer is not None else None)
    return View(base=base, viewer=viewer, statuses=statuses, accounts=found, media_base=media_base)


async def statuses_json(request: web.Request, session: AsyncSession, works: Sequence[Artwork | StatusWork]
                        ) -> list[dict]:
    from web.api import entities_statuses

    view = await view_for(request, session, artworks=works)
    return [entities_statuses.status(view, work) for work in works]


async def accounts_json(request: web.Request, session: AsyncSession, people: list[Account]) -> list[dict]:
    from web.api import entities_accounts

    view = await view_for(request, session, accounts=people)
    return [entities_accounts.account(view, person) for person in people]
