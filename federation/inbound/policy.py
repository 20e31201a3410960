"""What the inbound handlers store on whose say-so: a remote work or job only when someone here follows its author.

Its own module so that handlers.py and job_posts.py share it without importing each other (with the inbox
batch prefetch, this is where the per-batch answer is read).
"""

from __future__ import annotations

from cara_fed.context import Context
from cara_fed.models import Account
from federation.inbound import prefetch as inbox_prefetch


async def followed_here(ctx: Context, sender: Account) -> bool:
    """Store a remote work (and fetch its images) only if someone here follows its author. Works from
    strangers are not stored even when addressed to one of us: their images would be fetched and decoded on
    a stranger's say-so. (A mention in such a post still notifies: social.receive_note handles it first.)"""
    return await inbox_prefetch.followed_here(ctx, sender)  # read once per inbox batch
