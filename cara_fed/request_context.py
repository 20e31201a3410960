"""The id of the request being served, or of the request that queued the job being run (cara_fed_run/worker.py
carries it with each job). Its own module, free of aiohttp, so services can read it: outgoing activities keep
it (services/deliveries.py) and every delivery sends it as X-Request-Id."""

from __future__ import annotations

from contextvars import ContextVar

NO_REQUEST = "-"
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str | None:
    """The current id, or None outside any request or job that a request queued."""
    value = REQUEST_ID.get()
    return None if value == NO_REQUEST else value
