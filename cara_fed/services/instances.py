"""Instance policy set by admins: domain blocks (silence, suspend) and the allowlist."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.config import Config
from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account, Instance
from cara_fed.models.federation import INSTANCE_POLICIES
from cara_fed.services import audit

DOMAIN_RE = re.compile(r"^(?=.{1,255}$)[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)*"
                       r"(:\d{1,5})?$")


def normalize_domain(raw: str) -> str:
    domain = raw.strip().lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    if not DOMAIN_RE.match(domain):
        raise ValidationError({"domain": f"“{raw[:80]}” is not a domain name like example.social."})
    return domain


async def set_policy(ctx: Context, raw_domain: str, policy: str, reason: str = "",
                     actor: Account | None = None) -> Instance:
    """Silence, suspend or lift (`none`) a domain; written to the audit log with who and why."""
    if policy not in INSTANCE_POLICIES:
        raise ValidationError({"policy": f"Choose one of: {', '.join(INSTANCE_POLICIES)}."})
    domain = normalize_domain(raw_domain)
    async with ctx.transaction() as tx:
        instance = await tx.session.get(Instance, domain)
        if instance is None:
            instance = Instance(domain=domain)
            tx.session.add(instance)
        instance.policy, instance.reason = policy, reason.strip()[:1000]
        audit.record(tx.session, actor, f"domain.{policy}", domain, reason)
    return instance


async def set_allowed(ctx: Context, raw_domain: str, allowed: bool, actor: Account | None = None,
                      reason: str = "") -> Instance:
    domain = normalize_domain(raw_domain)
    async with ctx.transaction() as tx:
        instance = await tx.session.get(Instance, domain)
        if instance is None:
            instance = Instance(domain=domain)
            tx.session.add(instance)
        instance.allowed = allowed
        audit.record(tx.session, actor, "domain.allow" if allowed else "domain.disallow", domain, reason)
    return instance


async def domain_verdict(session: AsyncSession, config: Config, domain: str) -> str:
    """'accept', 'silence' or 'suspend' for traffic from `domain` (allowlist mode suspends the unlisted)."""
    instance = await session.get(Instance, domain.lower())
    if instance is not None and instance.policy in ("suspend", "silence"):
        return instance.policy
    if config.federation.allowlist_mode and not (instance is not None and instance.allowed):
        return "suspend"
    return "accept"


async def policies(session: AsyncSession) -> list[Instance]:
    return list((await session.scalars(select(Instance).where(
        (Instance.policy != "none") | Instance.allowed).order_by(Instance.domain))).all())
