"""SQLite writers take turns across connections and processes, handed over within a millisecond (issue 15).

SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps 1, 2, 5, 10, ...
up to 100 ms between tries. Under a stream of short write transactions from several connections and web
processes (the inbox's group commits, the worker's claims and settles), a waiter keeps missing the lock and
sleeps ever longer: bench/inbox.py saw inbox INSERTs wait 60 ms on average and up to 2.7 s while both web
processes' event loops sat idle half the time.

So each connection takes a turn before the first write statement of a transaction and gives it back when the
transaction ends: an exclusive `flock` on `<database>-write-turn`, through the connection's own open file (so
connections of one process exclude each other too). A writer waiting for its turn tries again every 0.1-1 ms,
and SQLite's own lock is free whenever a turn holder asks for it. The turn only orders our writers; SQLite's
lock still guards the data. A writer that has waited `timeout` seconds (SQLite's busy timeout) goes on without
its turn and SQLite waits or fails as before, so a transaction that waits on another transaction of its own
process fails after the timeout, as it did, instead of hanging.
"""

from __future__ import annotations

import fcntl
import os
import time
import weakref
from urllib.parse import unquote

# The statements that take SQLite's write lock (those a read transaction may run are SELECT, PRAGMA, EXPLAIN).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_FIRST_PAUSE, _LONGEST_PAUSE = 0.0001, 0.001  # seconds between tries while another writer holds the turn


def is_write(statement: str) -> bool:
    return statement.lstrip()[:7].upper().startswith(_WRITES)


def turn_path(database: str, uri: bool = False) -> str | None:
    """The turn file beside a database file; None for an in-memory database (one connection: nobody to wait for)."""
    if uri:
        if not database.startswith("file:"):
            return None
        path, _, query = database[len("file:"):].partition("?")
        if "mode=memory" in query:
            return None
        database = unquote(path)
    if not database or database == ":memory:":
        return None
    return f"{database}-write-turn"


class WriteTurn:
    """One connection's place in the queue of writers. Used on the connection's own thread only."""

    def __init__(self, path: str, timeout: float):
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._closer = weakref.finalize(self, os.close, self._fd)  # a connection dropped unclosed frees its turn
        self.timeout = timeout
        self.held = False

    def take(self) -> None:
        deadline = time.monotonic() + self.timeout
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return  # without the turn: SQLite's busy handler decides, as before turns
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
            else:
                self.held = True
                return

    def give_back(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.held = False
        self._closer()  # closing the file releases the lock
