"""The S3-compatible media store (AWS S3, SeaweedFS, MinIO, Garage, R2...), through aiobotocore.

One bucket holds both areas under `<prefix>private/` and `<prefix>public/`. The bucket must not be readable
anonymously: every read goes through us (web/media.py decides who may open a file). The client is made lazily
on the running event loop (web processes, workers and the CLI each have their own) and reused.

A signed S3 GET costs a few milliseconds of Python per request, so public objects are kept in a small
per-process LRU (`[storage] s3_read_cache_mb`). That is always correct: public keys are content-addressed, and
the bytes under a key never change.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from cara_fed.storage import MediaMissing, StorageError, check_key

if TYPE_CHECKING:
    from cara_fed.config import Config

_SYSTEM_HEADERS = {"Content-Type": "ContentType", "Cache-Control": "CacheControl"}
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    name = "s3"

    def __init__(self, *, endpoint: str, bucket: str, region: str = "us-east-1", access_key: str = "",
                 secret_key: str = "", prefix: str = "", timeout: float = 30.0, cache_bytes: int = 0):
        if not bucket:
            raise StorageError("[storage] s3_bucket is required when backend = s3")
        self.endpoint, self.bucket, self.region = endpoint or None, bucket, region
        self.access_key, self.secret_key = access_key or None, secret_key or None
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.timeout = timeout
        self._cache: OrderedDict[str, bytes] = OrderedDict()  # public key -> bytes, least recently used first
        self._cache_limit, self._cache_size = cache_bytes, 0
        self._client: Any = None
        self._stack: AsyncExitStack | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    @classmethod
    def from_config(cls, config: Config) -> S3Storage:
        s = config.storage
        return cls(endpoint=s.s3_endpoint, bucket=s.s3_bucket, region=s.s3_region, access_key=s.s3_access_key,
                   secret_key=s.s3_secret_key, prefix=s.s3_prefix, cache_bytes=s.s3_read_cache_mb * 1024 * 1024)

    def _remember(self, key: str, data: bytes) -> None:
        if len(data) > self._cache_limit // 8:  # a few huge files must not flush everything else
            return
        self._cache[key] = data
        self._cache_size += len(data)
        while self._cache_size > self._cache_limit:
            _, old = self._cache.popitem(last=False)
            self._cache_size -= len(old)

    def _forget(self, key: str) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_size -= len(old)

    async def _s3(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        if self._loop is not loop:  # a new loop (e.g. a CLI run after a test's): the old client is unusable there
            self._client, self._stack, self._lock, self._loop = None, None, asyncio.Lock(), loop
        assert self._lock is not None
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                config = AioConfig(connect_timeout=self.timeout, read_timeout=self.timeout,
                                   retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=50,
                                   s3={"addressing_style": "path"})
                self._client = await stack.enter_async_context(get_session().create_client(
                    "s3", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id=self.access_key,
                    aws_secret_access_key=self.secret_key, config=config))
                self._stack = stack
        return self._client

    def _name(self, area: str, key: str) -> str:
        check_key(area, key)
        return f"{self.prefix}{area}/{key}"

    async def ensure_bucket(self) -> bool:
        """Create the bucket if it is missing (`cara-fed media setup`); True if it was created."""
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError:
            await s3.create_bucket(Bucket=self.bucket)
            return True

    async def ready(self) -> None:
        """/readyz: the bucket answers (raises otherwise). The local folder check does not apply to a store."""
        s3 = await self._s3()
        await s3.head_bucket(Bucket=self.bucket)

    async def put(self, area: str, key: str, data: bytes, headers: Mapping[str, str] | None = None) -> None:
        extra: dict[str, Any] = {}
        metadata: dict[str, str] = {}
        for name, value in (headers or {}).items():
            if name in _SYSTEM_HEADERS:
                extra[_SYSTEM_HEADERS[name]] = value
            else:
                metadata[name.lower()] = value  # served as x-amz-meta-<name>
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._name(area, key), Body=data, Metadata=metadata, **extra)

    async def get(self, area: str, key: str) -> bytes:
        name = self._name(area, key)
        if area == "public" and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise MediaMissing(key) from None
            raise
        async with response["Body"] as body:
            data = await body.read()
        if area == "public" and self._cache_limit:
            self._remember(key, data)
        return data

    async def exists(self, area: str, key: str) -> bool:
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=self._name(area, key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise

    async def delete(self, area: str, key: str) -> None:
        if area == "public":
            self._forget(key)
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._name(area, key))

    async def keys(self, area: str) -> AsyncIterator[str]:
        start = self._name(area, "x")[:-1]
        s3 = await self._s3()
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                yield item["Key"][len(start):]

    def local_path(self, area: str, key: str) -> Path | None:
        return None

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None and self._loop is asyncio.get_running_loop():
            await stack.aclose()
