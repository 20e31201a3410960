"""Following tags: public, listed works with a followed tag join the follower's home feed."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account, TagFollow
from cara_fed.text import normalize_tag

MAX_FOLLOWED_TAGS = 200  # keeps the home feed's tag lookup small


async def follow(ctx: Context, account: Account, raw_tag: str) -> TagFollow | None:
    tag = normalize_tag(raw_tag)
    if not tag:
        raise ValidationError({"tag": "That is not a tag."})
    async with ctx.transaction(changes_pages=False) as tx:
        existing = await tx.session.scalar(select(TagFollow).where(TagFollow.account_id == account.id,
                                                                   TagFollow.tag == tag))
        if existing is not None:
            return existing
        count = await tx.session.scalar(select(func.count()).select_from(TagFollow)
                                        .where(TagFollow.account_id == account.id))
        if (count or 0) >= MAX_FOLLOWED_TAGS:
            raise ValidationError({"tag": f"You can follow up to {MAX_FOLLOWED_TAGS} tags; unfollow one first."})
        row = TagFollow(account_id=account.id, tag=tag)
        tx.session.add(row)
    return row


async def unfollow(ctx: Context, account: Account, raw_tag: str) -> None:
    async with ctx.transaction(changes_pages=False) as tx:
        await tx.session.execute(delete(TagFollow).where(TagFollow.account_id == account.id,
                                                         TagFollow.tag == normalize_tag(raw_tag)))
