"""Instance information: /api/v1/instance and /api/v2/instance (with and without the trailing slash that some
libraries use), peers, custom emojis, rules, and the small endpoints apps call on start-up."""

from __future__ import annotations

import importlib.metadata

from aiohttp import web
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.context import CONTEXT_KEY, ResourceKey
from cara_fed.models import Account
from cara_fed.recount import Recount, local_counts, recounted
from cara_fed.services import rules as instance_rules
from cara_fed.services.artworks import MAX_TEXT
from web.api import entities_accounts, entities_instance
from web.api.base import endpoint, reply
from web.api.views import view_for

routes = web.RouteTableDef()


def cara_version() -> str:
    try:
        return importlib.metadata.version("cara-fed")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"


PEERS_AND_CONTACT: ResourceKey[Recount[tuple[int, int | None]]] = ResourceKey("known servers and contact")


async def _peers_and_contact(session: AsyncSession) -> tuple[int, int | None]:
    """Known servers and the contact admin's id: each a scan of accounts at scale, so kept per process
    (cara_fed/recount.py), as the local counts are."""
    domains = await session.scalar(select(func.count(distinct(Account.domain))).where(
        Account.domain.is_not(None))) or 0
    contact = await session.scalar(select(Account.id).where(Account.domain.is_(None), Account.is_admin.is_(True),
                                                            Account.status == "active").order_by(Account.id).limit(1))
    return domains, contact


async def _facts(request: web.Request) -> entities_instance.InstanceFacts:
    ctx = request.app[CONTEXT_KEY]
    users, works = await local_counts(ctx)
    domains, contact_id = await recounted(ctx, PEERS_AND_CONTACT, _peers_and_contact)
    async with ctx.sessions() as session:
        contact = await session.get(Account, contact_id) if contact_id is not None else None
        contact_json = None
        if contact is not None:
            view = await view_for(request, session, accounts=[contact])
            contact_json = entities_accounts.account(view, contact)
        listed = [entities_instance.rule(rule) for rule in await instance_rules.listed(session)]
    return entities_instance.InstanceFacts(users, works, domains, contact, cara_version(), contact_json, listed)


@routes.get("/api/v1/instance")
@routes.get("/api/v1/instance/")
async def instance_v1(request: web.Request) -> web.Response:
    return reply(entities_instance.instance_v1(request.app[CONTEXT_KEY], await _facts(request), MAX_TEXT))


@routes.get("/api/v2/instance")
@routes.get("/api/v2/instance/")
async def instance_v2(request: web.Request) -> web.Response:
    return reply(entities_instance.instance_v2(request.app[CONTEXT_KEY], await _facts(request), MAX_TEXT))


@routes.get("/api/v1/instance/peers")
async def peers(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        domains = await session.scalars(select(Account.domain).distinct().where(Account.domain.is_not(None))
                                        .order_by(Account.domain).limit(10_000))
        return reply([d for d in domains.all() if d])


@routes.get("/api/v1/instance/rules")
async def rules(request: web.Request) -> web.Response:
    async with request.app[CONTEXT_KEY].sessions() as session:
        return reply([entities_instance.rule(rule) for rule in await instance_rules.listed(session)])


@routes.get("/api/v1/instance/activity")
@routes.get("/api/v1/instance/extended_description")
@routes.get("/api/v1/instance/domain_blocks")
async def not_shared(request: web.Request) -> web.Response:
    if request.path.endswith("extended_description"):
        return reply({"updated_at": None, "content": request.app[CONTEXT_KEY].config.instance.description})
    return reply([])


@routes.get("/api/v1/instance/translation_languages")
async def translation_languages(request: web.Request) -> web.Response:
    return reply({})  # no translation service


@routes.get("/api/v1/custom_emojis")
async def custom_emojis(request: web.Request) -> web.Response:
    return reply([])


@routes.get("/api/v1/announcements")
@endpoint(None, public=True)
async def announcements(request: web.Request) -> web.Response:
    return reply([])
