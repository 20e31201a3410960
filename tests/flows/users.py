"""A person using a cara-fed instance over real HTTP: their own cookie jar, CSRF tokens from the forms."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 60.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; no fixed sleeps, a clear message on timeout."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {within}s (last: {str(last)[:300]})")


class Browserless:
    def __init__(self, base: str):
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with self.http.get(self.base + path, **kwargs) as response:
            return response.status, await response.text()

    async def token(self, path: str) -> str:
        status, html = await self.get(path)
        assert status == 200, f"GET {path} -> {status}"
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    async def post(self, path: str, data: Any, *, token_from: str) -> aiohttp.ClientResponse:
        token = await self.token(token_from)
        if isinstance(data, aiohttp.FormData):
            data.add_field("csrf_token", token)
        else:
            data = {**data, "csrf_token": token}
        response = await self.http.post(self.base + path, data=data, allow_redirects=False)
        await response.read()
        return response

    async def login(self, name: str, password: str) -> None:
        response = await self.post("/login", {"login": name, "password": password}, token_from="/login")
        assert response.status == 303, f"login as {name} failed: {response.status}"

    async def upload(self, title: str, images: list[tuple[str, bytes, str]], **fields: str) -> str:
        form = aiohttp.FormData()
        for key, value in {"title": title, "description": f"About *{title}*", "tags": "ink", "noai": "on",
                           "license": "all-rights-reserved", "visibility": "public", **fields}.items():
            form.add_field(key, value)
        for index, (name, data, alt) in enumerate(images):
            form.add_field("images", data, filename=name, content_type="application/octet-stream")
            form.add_field(f"alt_{index}", alt)
        response = await self.post("/upload", form, token_from="/upload")
        assert response.status == 303, f"upload failed: {response.status}"
        return response.headers["Location"]
