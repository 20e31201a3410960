"""Password hashing off the event loop, in a bounded pool (issue 15: a login storm must not stall the site).

argon2 is deliberately slow (tens of milliseconds of CPU per hash). Run on the event loop, every login would
freeze every other request of the process for that long; run in an unbounded executor, a storm would queue
without end and every login would time out. So hashing runs on `workers` threads (argon2-cffi releases the
GIL), at most `queue` more wait for one, and past that the caller gets `Overloaded` at once, which the edges
answer with 503 and Retry-After.

Costs are argon2id at OWASP's recommended minimum by default (m=19 MiB, t=2, p=1); hashes made with other
costs still verify (the costs are stored in each hash) and are rehashed with the configured ones on the next
successful login (`needs_rehash`).
"""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cara_fed import argon2_kept
from cara_fed.errors import Overloaded

T = TypeVar("T")


class HashingPool:
    def __init__(self, workers: int = 0, queue: int = 32, *, memory_kib: int = 19456, time_cost: int = 2,
                 parallelism: int = 1):
        self.workers = workers or os.cpu_count() or 1  # 0 = one per CPU core
        self.queue = queue
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._seconds = 0.05  # running estimate of one job's duration, for Retry-After
        self._stand_in: str | None = None  # a hash with the configured costs, verified for unknown accounts

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on a pool thread; Overloaded when `workers + queue` jobs are in already."""
        if self._in_flight >= self.workers + self.queue:
            waves = math.ceil((self._in_flight + 1) / self.workers)
            raise Overloaded("Too many log-ins at once; please try again in a moment.",
                             retry_after=max(1, math.ceil(waves * self._seconds)))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="hashing")
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._timed, function, args)
        finally:
            self._in_flight -= 1

    def _timed(self, function: Callable[..., T], args: tuple) -> T:
        started = time.perf_counter()
        try:
            return function(*args)
        finally:
            self._seconds = 0.8 * self._seconds + 0.2 * (time.perf_counter() - started)

    async def hash(self, password: str) -> str:
        return await self.run(self.hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`. Without a stored hash the same work is done anyway, so
        timing does not tell which accounts exist."""
        return await self.run(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        if not stored:  # the same work as a real verify, through the same path (no timing tells them apart)
            if self._stand_in is None:
                self._stand_in = self.hasher.hash(secrets.token_urlsafe(16))
            argon2_kept.verify(self._stand_in, password)
            return False
        kept = argon2_kept.verify(stored, password)  # argon2id: into this thread's kept block
        if kept is not None:
            return kept
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
