"""One memory budget for the media work of a worker process.

Decoding is what costs memory (a 49 MP PNG is ~200 MB of pixels however small the file), so every media job
reserves its estimated peak (`protection.peak_memory`, from the header) before it decodes, and waits while
the jobs already running would take the total over the budget. Concurrency then adapts to image size: many
ordinary uploads at once, one huge image at a time. A job larger than the whole budget runs alone.

Remote media may hold at most `remote_share` of the budget, so a burst of federated images never makes a
local upload wait for memory. The budget belongs to one process's event loop (every job of a process runs
on it): with several worker processes, each has its own budget, and the operator sizes them together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryBudget:
    def __init__(self, total_bytes: int, remote_share: float = 0.5) -> None:
        self.total = max(1, total_bytes)
        self.remote_cap = max(1, int(self.total * remote_share))
        self.used = 0
        self.remote_used = 0
        self.peak = 0  # the most ever reserved at once (reported by bench/hostile.py)
        self._changed: asyncio.Condition | None = None

    def _fits(self, amount: int, remote: bool) -> bool:
        cap = self.remote_cap if remote else self.total
        if amount >= cap:  # too big to share: wait until nothing else runs, then take it all
            return self.used == 0
        return self.used + amount <= self.total and (not remote or self.remote_used + amount <= self.remote_cap)

    @asynccontextmanager
    async def reserve(self, amount: int, *, remote: bool = False) -> AsyncIterator[int]:
        """Hold `amount` bytes of the budget (all of it, if `amount` is more than this kind may share) for the
        duration of the block. Yields what was taken."""
        if self._changed is None:
            self._changed = asyncio.Condition()
        changed = self._changed
        async with changed:
            await changed.wait_for(lambda: self._fits(amount, remote))
            cap = self.remote_cap if remote else self.total
            taken = self.total if amount >= cap else amount
            self.used += taken
            self.remote_used += taken if remote else 0
            self.peak = max(self.peak, self.used)
        try:
            yield taken
        finally:
            async with changed:
                self.used -= taken
                self.remote_used -= taken if remote else 0
                changed.notify_all()
