"""HTTP header helpers shared by both edges (web pages and federation documents answer on the same URLs)."""

from __future__ import annotations

from collections.abc import MutableMapping


def add_vary(headers: MutableMapping[str, str], name: str) -> None:
    """Name a request header the answer depends on, in the one Vary header (some caches read only the first).

    Compared token by token: "Accept" is not already named by "Accept-Encoding".
    """
    vary = headers.get("Vary", "")
    named = {token.strip().lower() for token in vary.split(",")}
    if name.lower() not in named and "*" not in named:
        headers["Vary"] = f"{vary}, {name}" if vary.strip() else name
