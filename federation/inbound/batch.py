"""`process_inbox_batch(ctx, *ids)`: the inbox job queued once per group-committed batch of received
activities (`cara_fed.services.inbox_batch`), so one queue write covers up to a few hundred rows.

The rows are claimed together and their outcomes written together (`inbox.claimed_batch`: two
transactions per batch instead of two per row); in between, each row is handled by `process_inbox`
exactly as when it is queued alone, one after the other, so a sender's activities keep their order, a row
that fails or needs a retry does not hold up the others, and a row already handled (a duplicate job, the
sweep) is skipped by the claim. What the rows need from the database (their senders, whether their
objects are stored, whether someone here follows the sender) is read once for the batch
(`federation.inbound.prefetch`), and read again after any write. Under load the inbox commits many small
batches; a job also claims received rows whose own jobs are still queued (up to BATCH rows, oldest first,
processed in id order), so the worker runs few large batches; the jobs that come later skip those rows.
"""

from __future__ import annotations

import asyncio

from cara_fed.context import Context
from cara_fed.services import inbox as inbox_service
from federation.inbound.handlers import process_inbox
from federation.inbound.prefetch import batch_facts

BATCH = 256  # rows per batch at most, read-ahead included
# A row that needs no query (most are answered from the batch's facts) never gives the event loop back, so a
# whole batch could hold the embedded worker's web process for 60 ms (256 rows x ~0.25 ms): requests wait.
YIELD_EVERY = 8  # rows between two chances for the web requests of this process (~2 ms of such rows)


async def process_inbox_batch(ctx: Context, *inbox_item_ids: int) -> None:
    ahead = max(0, BATCH - len(inbox_item_ids))
    async with inbox_service.claimed_batch(ctx, inbox_item_ids, ahead) as open_ids, \
            batch_facts(ctx, inbox_service.claimed_rows()):  # senders, known objects, follows: read once
        for done, item_id in enumerate(open_ids, 1):
            await process_inbox(ctx, item_id)
            if done % YIELD_EVERY == 0:
                await asyncio.sleep(0)
