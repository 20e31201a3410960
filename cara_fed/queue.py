"""The jobs interface services use, and the registry that binds tasks and event subscribers to functions.

Services never import huey and never type a job's name. They either emit a domain event after commit
(`events.emit(ctx, tx, ArtworkPublished(artwork.id))`, see cara_fed/events.py) or queue a task through its
typed handle (`tx.after_commit(ctx.jobs.enqueue, tasks.PROTECT_MEDIA, asset.id)`, see cara_fed/tasks.py).
A job is an async function `(ctx, *ids)` that re-reads its rows and acts only if they are still in the
expected state, so running it twice is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cara_fed.context import Context
    from cara_fed.events import Event

log = logging.getLogger(__name__)

# remote-media: fetching and processing federated images, apart from local uploads (media), so a slow or
# hostile server never delays an artist's own upload. cloak: long CPU jobs, kept off the media queue.
QUEUES = ("media", "remote-media", "inbox", "delivery", "cloak")

JobFunction = Callable[..., Awaitable[Any]]
JobArg = int | str | bool


@dataclass(frozen=True)
class Task:
    """A typed handle on one background task (work, not a domain event): callers pass the handle, the
    composition root binds a function to it. `name` is what travels on the queue."""

    name: str
    queue: str

    def __post_init__(self) -> None:
        if self.queue not in QUEUES:
            raise ValueError(f"unknown queue {self.queue!r}")


@dataclass(frozen=True)
class Subscribers:
    """One event's declared subscriber list: each handler is called `(ctx, *event ids)`, in order, in one job
    on `queue`. Handlers are idempotent, so a retry after one of them failed repeats the others harmlessly."""

    queue: str
    handlers: tuple[JobFunction, ...]


def on(queue: str, *handlers: JobFunction) -> Subscribers:
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    return Subscribers(queue, handlers)


@dataclass(frozen=True)
class JobSpec:
    name: str
    queue: str
    function: JobFunction


class JobRegistry:
    """Task name or event class name -> what runs. Built once by the composition root."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}
        self._subscriptions: dict[type[Event], Subscribers] = {}
        self._aliases: dict[str, str] = {}

    def register(self, task: Task, function: JobFunction) -> None:
        self._jobs[task.name] = JobSpec(task.name, task.queue, function)

    def subscribe(self, event_type: type[Event], subscribers: Subscribers) -> None:
        """Declare the subscriber list of one event; an event has exactly one."""
        if event_type in self._subscriptions:
            raise ValueError(f"{event_type.__name__} already has a subscriber list")
        self._subscriptions[event_type] = subscribers
        self._jobs[event_type.__name__] = JobSpec(event_type.__name__, subscribers.queue,
                                                  _dispatcher(event_type, subscribers.handlers))

    def alias(self, old_name: str, event_type: type[Event]) -> None:
        """Accept messages queued under a name from before typed events (an upgrade must not drop them)."""
        if old_name not in self._jobs:
            self._aliases[old_name] = event_type.__name__

    @property
    def subscriptions(self) -> dict[type[Event], Subscribers]:
        return dict(self._subscriptions)

    def get(self, name: str) -> JobSpec:
        try:
            return self._jobs[self._aliases.get(name, name)]
        except KeyError:
            raise KeyError(f"no job named {name!r} is registered") from None

    def find(self, task: Task) -> JobSpec | None:
        """The task's spec, or None where no edge wired it in this process."""
        return self._jobs.get(task.name)

    def for_event(self, event_type: type[Event]) -> JobSpec | None:
        """The job that runs an event's subscribers; None if nothing subscribes (the event is then a no-op)."""
        return self._jobs.get(event_type.__name__) if event_type in self._subscriptions else None

    def __iter__(self) -> Iterator[JobSpec]:
        return iter(self._jobs.values())


def _dispatcher(event_type: type[Event], handlers: tuple[JobFunction, ...]) -> JobFunction:
    async def dispatch(ctx: Context, *ids: JobArg) -> None:
        event_type(*ids)  # the ids must still fit the event's fields (a message from an older release may not)
        for handler in handlers:
            await handler(ctx, *ids)

    dispatch.__name__ = dispatch.__qualname__ = f"dispatch_{event_type.__name__}"
    return dispatch


class Jobs(Protocol):
    registry: JobRegistry

    async def enqueue(self, task: Task, *args: JobArg) -> None: ...

    async def publish(self, event: Event) -> None: ...


class NoJobs:
    """The Context's queue until a composition root (cara_fed_run) installs one: fails loudly, never drops work."""

    registry = JobRegistry()

    async def enqueue(self, task: Task, *args: JobArg) -> None:
        raise RuntimeError(f"no job queue installed: cannot queue {task.name}; cara_fed_run sets ctx.jobs")

    async def publish(self, event: Event) -> None:
        raise RuntimeError(f"no job queue installed: cannot publish {type(event).__name__}; "
                           "cara_fed_run sets ctx.jobs")


class InlineJobs:
    """Runs each job at once, in the caller's event loop (unit tests, the `demo` command)."""

    def __init__(self, registry: JobRegistry, ctx_getter: Callable[[], Context]):
        self.registry = registry
        self._ctx = ctx_getter
        self.ran: list[tuple[str, tuple]] = []  # (task or event class name, args), in order

    async def enqueue(self, task: Task, *args: JobArg) -> None:
        spec = self.registry.get(task.name)
        self.ran.append((task.name, args))
        await spec.function(self._ctx(), *args)

    async def publish(self, event: Event) -> None:
        ids = event.ids()
        self.ran.append((type(event).__name__, ids))
        spec = self.registry.for_event(type(event))
        if spec is not None:
            await spec.function(self._ctx(), *ids)
