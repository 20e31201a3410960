"""What the inbound handlers store on whose say-so: a remote work or job only when someone here follows its author.

Its own module so that handlers.py and job_posts.py share it without importing each other (with the inbox
batch prefetch, this is where the per-batch answer is read).
"""

from __future__ import annotations

from sqlalchemy import select

from cara_fed.context import Context
from cara_fed.models import Account, Follow


async def followed_here(ctx: Context, sender: Account) -> bool:
    """Store a remote work (and fetch its images) only if someone here follows its author. Works from
    strangers are not stored even when addressed to one of us: their images would be fetched and decoded on
    a stranger's say-so. (A mention in such a post still notifies: social.receive_note handles it first.)"""
    async with ctx.sessions() as session:
        return await session.scalar(select(Follow.id).where(Follow.followee_id == sender.id,
                                                            Follow.state == "accepted").limit(1)) is not None
