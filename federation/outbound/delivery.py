"""The `deliver` job: sign each claimed delivery afresh and POST it to its inbox.

2xx -> sent · 404/410 -> gone · 401/408/429 and 5xx, timeouts, connection errors -> retry with backoff ·
other 3xx/4xx -> failed. Only 5xx, timeouts and connection errors count toward the instance's circuit
breaker: any other answer proves the instance is up. Rows, states and the breaker live in
cara_fed/services/deliveries.py; this module only does the HTTP.

A job may carry many delivery ids (record_outgoing queues batches): huey worker threads block while a
job runs, so one job per inbox would cap a fan-out at (threads) requests in flight. A batch is sent
concurrently on the shared event loop, and its outcomes are written in one transaction.

Each POST carries `X-Request-Id`: the id of the request that caused the activity (kept on its row, so retries
from the sweep carry it too), and each outcome is logged under that id, so an admin can follow one upload from
the form post through processing to every delivery (docs/operations.md, Logs).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp

from cara_fed.context import Context
from cara_fed.db import utcnow
from cara_fed.numbers import parse_whole
from cara_fed.observe import REQUEST_ID_HEADER
from cara_fed.services import deliveries
from cara_fed.services.deliveries import Attempt, Outcome
from federation.http import BlockedAddress, check_url, session
from federation.signatures import sign_request
from federation.wire.serialize import actor_id

log = logging.getLogger(__name__)

TIMEOUT = 15.0  # seconds for one POST, connect to last byte
CONCURRENCY = 200  # POSTs in flight per job: the shared session's connection limit
PER_DOMAIN = 8  # ... and its limit per host
CONTENT_TYPE = "application/activity+json"
RETRY_STATUSES = {401, 408, 429}  # 401: the peer may not have fetched our new key yet (Mastodon retries too)
GONE_STATUSES = {404, 410}
clock: Callable[[], datetime] = utcnow  # the signing time; tests move it to tell two attempts apart


def key_id(ctx: Context, attempt: Attempt) -> str:
    return actor_id(ctx, attempt.actor) + "#main-key"


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    seconds = parse_whole(value, most=10**9)
    return float(seconds) if seconds is not None else None  # the HTTP-date form is rare from inboxes


async def attempt(ctx: Context, a: Attempt) -> Outcome:
    """One POST. Never raises for anything the network or the peer does."""
    body = a.body.encode("utf-8")
    try:
        check_url(a.inbox_url, ctx.config.federation.allow_private_addresses)
        if not a.actor.private_key_pem:
            return Outcome(a.delivery_id, a.domain, "failed", a.attempt, error="the sender has no signing key")
        # Signed now, not when queued: Date must be fresh on every attempt (peers allow about an hour of skew).
        signed = sign_request("POST", a.inbox_url, {}, body, key_id(ctx, a), a.actor.private_key_pem, clock())
        headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE, **signed}
        if a.request_id:  # not signed: a trace for both sides' logs, not a claim
            headers[REQUEST_ID_HEADER] = a.request_id
        async with session(ctx).post(a.inbox_url, data=body, headers=headers, allow_redirects=False,
                                     timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
            status = response.status
            snippet = (await response.content.read(200)).decode("utf-8", "replace")
            if 200 <= status < 300:
                return Outcome(a.delivery_id, a.domain, "sent", a.attempt, status, health="up")
            if status in GONE_STATUSES:
                return Outcome(a.delivery_id, a.domain, "gone", a.attempt, status,
                               f"the inbox is gone (HTTP {status})", health="up")
            error = f"HTTP {status}: {snippet}".strip()
            if status >= 500:
                return Outcome(a.delivery_id, a.domain, "retry", a.attempt, status, error, health="down",
                               retry_after=_retry_after(response))
            if status in RETRY_STATUSES:
                return Outcome(a.delivery_id, a.domain, "retry", a.attempt, status, error, health="up",
                               retry_after=_retry_after(response))
            return Outcome(a.delivery_id, a.domain, "failed", a.attempt, status, error, health="up")
    except BlockedAddress as exc:  # before ClientError: it is one, but retrying cannot help
        return Outcome(a.delivery_id, a.domain, "failed", a.attempt, error=f"refused: {exc}")
    except TimeoutError:
        return Outcome(a.delivery_id, a.domain, "retry", a.attempt, error=f"timed out after {TIMEOUT:g} s",
                       health="down")
    except aiohttp.ClientError as exc:
        return Outcome(a.delivery_id, a.domain, "retry", a.attempt, error=f"{type(exc).__name__}: {exc}"[:500],
                       health="down")


async def deliver(ctx: Context, delivery_id: int | str, *more: int | str) -> None:
    """Job: attempt each due delivery of the given ids once. Repeats and stale ids are no-ops."""
    ids = [int(delivery_id), *(int(i) for i in more)]
    # Worst case: every id on one host, PER_DOMAIN at a time, each taking the whole timeout.
    lease = max(deliveries.LEASE, timedelta(seconds=TIMEOUT * math.ceil(len(ids) / PER_DOMAIN) + 60))
    claimed = await deliveries.claim(ctx, ids, lease)
    if not claimed:
        return
    slots = asyncio.Semaphore(CONCURRENCY)
    per_domain: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(PER_DOMAIN))

    async def bounded(a: Attempt) -> Outcome:
        # Sign just before sending (signing overlaps the peers' latency), and start the timeout only once a
        # connection to that host is free: many inboxes on one server must not time out waiting in line.
        async with per_domain[a.domain], slots:
            return await attempt(ctx, a)

    outcomes = list(await asyncio.gather(*(bounded(a) for a in claimed), return_exceptions=True))
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):  # a bug, not the network: keep the row, try again later
            log.error("delivery %s crashed", claimed[index].delivery_id, exc_info=outcome)
            a = claimed[index]
            outcomes[index] = Outcome(a.delivery_id, a.domain, "retry", a.attempt, error=f"internal error: {outcome!r}")
    for a, outcome in zip(claimed, outcomes, strict=True):
        _log_outcome(a, outcome)  # type: ignore[arg-type]
    await deliveries.settle(ctx, outcomes)  # type: ignore[arg-type]


def _log_outcome(a: Attempt, outcome: Outcome) -> None:
    """One line per attempt, under the id of the request that caused it (a job's own id otherwise)."""
    level = logging.INFO if outcome.state in ("sent", "gone") else logging.WARNING
    extra = {"request_id": a.request_id} if a.request_id else {}
    log.log(level, "delivery %s to %s (attempt %s): %s%s%s", a.delivery_id, a.inbox_url, a.attempt, outcome.state,
            f" HTTP {outcome.status}" if outcome.status else "", f": {outcome.error[:200]}" if outcome.error else "",
            extra=extra)


async def sweep_deliveries(ctx: Context) -> None:
    """Periodic: re-queue due retries and dropped deliveries; probe domains whose pause is over."""
    requeued, probed = await deliveries.sweep(ctx)
    if requeued or probed:
        log.info("delivery sweep: %s re-queued, %s paused domains probed", requeued, probed)
