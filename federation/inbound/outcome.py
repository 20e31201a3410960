"""What an inbound handler says when it does nothing: `Ignored(reason)`, kept on the inbox row.

Its own module so that handlers.py and the per-type handlers it dispatches to (social, moves, job posts)
all raise it without importing each other.
"""

from __future__ import annotations


class Ignored(Exception):
    """Nothing to do with this activity; the reason is kept on the row."""
