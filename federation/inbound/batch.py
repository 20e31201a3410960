"""`process_inbox_batch(ctx, *ids)`: the inbox job queued once per group-committed batch of received
activities (`cara_fed.services.inbox_batch`), so one queue write covers up to a few hundred rows.

The rows are claimed together and their outcomes written together (`inbox.claimed_batch`: two
transactions per batch instead of two per row); in between, each row is handled by `process_inbox`
exactly as when it is queued alone, one after the other, so a sender's activities keep their order, a row
that fails or needs a retry does not hold up the others, and a row already handled (a duplicate job, the
sweep) is skipped by the claim.
"""

from __future__ import annotations

from cara_fed.context import Context
from cara_fed.services import inbox as inbox_service
from federation.inbound.handlers import process_inbox


async def process_inbox_batch(ctx: Context, *inbox_item_ids: int) -> None:
    async with inbox_service.claimed_batch(ctx, inbox_item_ids) as open_ids:
        for item_id in open_ids:
            await process_inbox(ctx, item_id)
