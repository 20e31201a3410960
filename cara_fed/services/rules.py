"""Instance rules: an ordered list of short rules with an optional hint, written by admins (issue 18).

Shown at sign-up (where the newcomer agrees to them), on /about and in the Mastodon API's instance entity."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cara_fed.context import Context
from cara_fed.errors import NotFound, ValidationError
from cara_fed.models import InstanceRule

MAX_TEXT = 300
MAX_HINT = 1000
MAX_RULES = 50  # Mastodon has no limit; a list longer than this is not read at sign-up anyway


async def listed(session: AsyncSession) -> list[InstanceRule]:
    return list((await session.scalars(select(InstanceRule).order_by(InstanceRule.position, InstanceRule.id)
                                       .limit(MAX_RULES))).all())


def _clean(text: str, hint: str) -> tuple[str, str]:
    text, hint = " ".join(text.split()), hint.strip()
    errors = {}
    if not text:
        errors["text"] = "Write the rule."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"Keep the rule under {MAX_TEXT} characters; put the detail in the hint."
    if len(hint) > MAX_HINT:
        errors["hint"] = f"Keep the hint under {MAX_HINT} characters."
    if errors:
        raise ValidationError(errors)
    return text, hint


async def add(ctx: Context, text: str, hint: str = "") -> InstanceRule:
    text, hint = _clean(text, hint)
    async with ctx.transaction() as tx:
        count = await tx.session.scalar(select(func.count()).select_from(InstanceRule)) or 0
        if count >= MAX_RULES:
            raise ValidationError({"text": f"An instance can have at most {MAX_RULES} rules."})
        last = await tx.session.scalar(select(func.max(InstanceRule.position)))
        rule = InstanceRule(text=text, hint=hint, position=(last or 0) + 1)
        tx.session.add(rule)
    return rule


async def _get(session: AsyncSession, rule_id: int) -> InstanceRule:
    rule = await session.get(InstanceRule, rule_id)
    if rule is None:
        raise NotFound("No such rule.")
    return rule


async def edit(ctx: Context, rule_id: int, text: str, hint: str = "") -> InstanceRule:
    text, hint = _clean(text, hint)
    async with ctx.transaction() as tx:
        rule = await _get(tx.session, rule_id)
        rule.text, rule.hint = text, hint
    return rule


async def remove(ctx: Context, rule_id: int) -> None:
    async with ctx.transaction() as tx:
        await tx.session.delete(await _get(tx.session, rule_id))


async def move(ctx: Context, rule_id: int, step: int) -> None:
    """Swap a rule with its neighbour (step -1: up, +1: down); renumbers so that positions are 1..n."""
    async with ctx.transaction() as tx:
        rules = await listed(tx.session)
        index = next((i for i, rule in enumerate(rules) if rule.id == rule_id), None)
        if index is None:
            raise NotFound("No such rule.")
        other = index + step
        if 0 <= other < len(rules):
            rules[index], rules[other] = rules[other], rules[index]
        for position, rule in enumerate(rules, start=1):
            rule.position = position
