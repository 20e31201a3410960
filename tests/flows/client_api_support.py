"""Helpers for driving the client API as an app would: the browser half of the OAuth code flow (log in, consent,
read the out-of-band code) and raw JSON reads with a token, for checking entity shapes field by field."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from html import unescape
from typing import Any

from tests.flows.users import Browserless

OOB = "urn:ietf:wg:oauth:2.0:oob"
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
CODE_RE = re.compile(r'id="oauth-code" value="([^"]+)"')


async def consent(base: str, login: str, password: str, authorize_url: str) -> str:
    """Log in on the server's own page, approve the app on the consent page, return the code it shows."""
    person = Browserless(base)
    try:
        await person.login(login, password)
        path = authorize_url[len(base):] if authorize_url.startswith(base) else authorize_url
        status, page = await person.get(path)
        assert status == 200, f"consent page: {status} {page[:500]}"
        assert "Authorize" in page
        fields = [(name, unescape(value)) for name, value in HIDDEN_RE.findall(page)]
        async with person.http.post(base + "/oauth/authorize", data=[*fields, ("decision", "approve")],
                                    allow_redirects=False) as response:
            body = await response.text()
            assert response.status == 200, f"consent answer: {response.status} {body[:500]}"
        match = CODE_RE.search(body)
        assert match, body[:500]
        return match.group(1)
    finally:
        await person.close()


def raw(base: str, token: str | None, path: str, method: str = "GET", data: dict | None = None) -> Any:
    """The JSON a plain HTTP client gets (Mastodon.py turns dates into datetimes; shape checks want the wire)."""
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(base + path, data=body, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for(check: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    """Poll (blocking: the servers run in other processes) until `check` returns something truthy."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {within}s (last: {str(last)[:300]})")
