"""Media storage on the local file system.

Originals live under `private/` and are never given a URL; derivatives live under `public/` with
random keys and are served by the web edge.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class StorageError(ValueError):
    pass


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root
        (root / "private").mkdir(parents=True, exist_ok=True)
        (root / "public").mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_key(suffix: str = "") -> str:
        token = secrets.token_hex(16)
        return f"{token[:2]}/{token}{suffix}"  # fan out into 256 folders

    def _path(self, area: str, key: str) -> Path:
        path = (self.root / area / key).resolve()
        if not path.is_relative_to((self.root / area).resolve()):
            raise StorageError(f"storage key escapes its area: {key!r}")
        return path

    def _write(self, area: str, key: str, data: bytes) -> None:
        path = self._path(area, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: readers never see half a file

    def put_private(self, key: str, data: bytes) -> None:
        self._write("private", key, data)

    def get_private(self, key: str) -> bytes:
        return self._path("private", key).read_bytes()

    def put_public(self, key: str, data: bytes) -> None:
        self._write("public", key, data)

    def public_path(self, key: str) -> Path:
        return self._path("public", key)

    def delete(self, area: str, key: str) -> None:
        self._path(area, key).unlink(missing_ok=True)
