"""Media storage behind one interface: the local file system (default) or an S3-compatible object store
(cara_fed/storage_s3.py). Same keys, same two areas, chosen by `[storage] backend`.

Originals live in the `private` area and are never given a URL; derivatives live in `public` and are served
by the web edge (web/media.py), which decides who may open each one. Derivative keys are content-addressed
(`content_key`): a re-stamped or re-cloaked file gets a new key, so a year of `immutable` caching stays true.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cara_fed import urls

if TYPE_CHECKING:
    from cara_fed.config import Config

# `published`: copies of public works' derivatives that the store/CDN may serve itself ([storage] public_base_url);
# a bucket policy can expose that prefix alone.
AREAS = ("private", "public", "published")
CONTENT_TYPES = {"jpg": "image/jpeg", "webp": "image/webp", "png": "image/png"}
PUBLIC_CACHE = "public, max-age=31536000, immutable"
NOAI_ROBOTS = "noai, noimageai"
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._/-]{0,254}$")


class StorageError(ValueError):
    pass


class MediaMissing(LookupError):
    """No object under that key (deleted, or never written)."""


def check_key(area: str, key: str) -> None:
    if area not in AREAS:
        raise StorageError(f"unknown storage area: {area!r}")
    if not _SAFE_KEY.match(key) or any(part in ("", ".", "..") for part in key.split("/")):
        raise StorageError(f"storage key escapes its area: {key!r}")


def new_key(suffix: str = "") -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}{suffix}"  # fan out into 256 folders


def content_key(data: bytes, suffix: str, salt: str) -> str:
    """A key derived from the bytes (and a per-asset salt, so two assets never share an object and deleting one
    never removes the other's file). Same bytes, same key: a retried job rewrites the same object."""
    digest = hashlib.sha256(salt.encode() + b"\0" + data).hexdigest()[:32]
    return f"{digest[:2]}/{digest}{suffix}"


def object_headers(key: str, noai: bool) -> dict[str, str]:
    """What a derivative's object carries, for a store or CDN serving it without us: its type, immutable
    caching, and our NoAI signals (an S3 store keeps the last two as `x-amz-meta-*` metadata; docs/storage.md)."""
    headers = {"Content-Type": CONTENT_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream"),
               "Cache-Control": PUBLIC_CACHE}
    if noai:
        headers.update({"X-Robots-Tag": NOAI_ROBOTS, "tdm-reservation": "1"})
    return headers


def derivative_url(base: str, derivative: Any, ours: Callable[[str], str] = lambda path: path) -> str:
    """The URL we publish for a derivative: the store/CDN's copy (`base` = [storage] public_base_url) when it has
    one (public works only: cara_fed/services/public_media.py), else our own /media/ route (`ours` makes it
    absolute where needed), which checks access on every request."""
    if base and getattr(derivative, "public_copy", None):
        return f"{base}/{derivative.key}"
    return ours(urls.media(derivative.key))


class MediaStore(Protocol):
    name: str

    async def put(self, area: str, key: str, data: bytes, headers: Mapping[str, str] | None = None) -> None: ...

    async def get(self, area: str, key: str) -> bytes:
        """The object's bytes; raises MediaMissing."""
        ...

    async def exists(self, area: str, key: str) -> bool: ...

    async def delete(self, area: str, key: str) -> None:
        """Gone afterwards; deleting a missing key is not an error."""
        ...

    def keys(self, area: str) -> AsyncIterator[str]: ...

    def local_path(self, area: str, key: str) -> Path | None:
        """A file to send with sendfile when the store is a local disk; None for remote stores."""
        ...

    async def close(self) -> None: ...


class LocalStorage:
    """Files under `root/private` and `root/public`; writes are atomic (readers never see half a file)."""

    name = "local"

    def __init__(self, root: Path):
        self.root = root
        for area in AREAS:
            (root / area).mkdir(parents=True, exist_ok=True)

    def _path(self, area: str, key: str) -> Path:
        check_key(area, key)
        path = (self.root / area / key).resolve()
        if not path.is_relative_to((self.root / area).resolve()):
            raise StorageError(f"storage key escapes its area: {key!r}")
        return path

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")  # unique: two writers never share it
        tmp.write_bytes(data)
        os.replace(tmp, path)

    async def put(self, area: str, key: str, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        await asyncio.to_thread(self._write, self._path(area, key), data)  # headers: we send them when serving

    async def get(self, area: str, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(area, key).read_bytes)
        except FileNotFoundError:
            raise MediaMissing(key) from None

    async def exists(self, area: str, key: str) -> bool:
        return self._path(area, key).is_file()

    async def delete(self, area: str, key: str) -> None:
        self._path(area, key).unlink(missing_ok=True)

    async def keys(self, area: str) -> AsyncIterator[str]:
        check_key(area, "x")
        base = self.root / area
        for path in sorted(await asyncio.to_thread(lambda: [p for p in base.rglob("*") if p.is_file()])):
            if not path.name.endswith(".part"):
                yield path.relative_to(base).as_posix()

    def local_path(self, area: str, key: str) -> Path | None:
        return self._path(area, key)

    async def close(self) -> None:
        return None


def make_store(config: Config, backend: str | None = None) -> MediaStore:
    """The store `[storage]` names (or `backend`, for `cara-fed media migrate`)."""
    backend = backend or config.storage.backend
    if backend == "s3":
        from cara_fed.storage_s3 import S3Storage

        return S3Storage.from_config(config)
    return LocalStorage(config.data_path / "media")
