"""The jobs interface services use, and the registry of job functions.

Services never import huey: they call `tx.after_commit(ctx.jobs.enqueue, "name", row_id)`. A job is
an async function `(ctx, *ids)` that re-reads its rows and acts only if they are still in the
expected state, so running it twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cara_fed.context import Context

log = logging.getLogger(__name__)

# remote-media: fetching and processing federated images, apart from local uploads (media), so a slow or
# hostile server never delays an artist's own upload. cloak: long CPU jobs, kept off the media queue.
QUEUES = ("media", "remote-media", "inbox", "delivery", "cloak")

JobFunction = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    queue: str
    function: JobFunction


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def register(self, name: str, queue: str, function: JobFunction) -> None:
        if queue not in QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        self._jobs[name] = JobSpec(name, queue, function)

    def get(self, name: str) -> JobSpec:
        try:
            return self._jobs[name]
        except KeyError:
            raise KeyError(f"no job named {name!r} is registered") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._jobs.values())


class Jobs(Protocol):
    registry: JobRegistry

    async def enqueue(self, name: str, *args: int | str) -> None: ...


class InlineJobs:
    """Runs each job at once, in the caller's event loop (unit tests, the `demo` command)."""

    def __init__(self, registry: JobRegistry, ctx_getter: Callable[[], Context]):
        self.registry = registry
        self._ctx = ctx_getter
        self.ran: list[tuple[str, tuple]] = []

    async def enqueue(self, name: str, *args: int | str) -> None:
        spec = self.registry.get(name)
        self.ran.append((name, args))
        await spec.function(self._ctx(), *args)
