"""The connection to one bucket: the aiobotocore clients (one more for presigning when browsers
reach the store by another address), and where each kind of object lives under the prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from filebay.errors import BlobNotFound
from filebay.ids import is_valid_id
from filebay.storage.keys import is_blob_key
from filebay.storage.s3.errors import s3_errors

MIN_PART = 5 * 1024 * 1024  # S3's minimum for every part but the last


class S3Bucket:
    """One bucket under one prefix: the clients (after ``start``) and the key of every kind of
    object. The base of ``S3BlobStore``; the writers get it as their store."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        prefix: str = "",
        part_size: int = 16 * 1024 * 1024,
        public_endpoint: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = max(MIN_PART, part_size)
        self._endpoint = endpoint
        self._region = region
        self._public_endpoint = public_endpoint
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._presigner: Any = None

    async def start(self) -> None:
        session = get_session()
        config = AioConfig(
            connect_timeout=3,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=50,
            # SigV4 everywhere, presigned URLs included (botocore's default for those is the
            # old SigV2, which newer AWS regions and some S3-compatible stores refuse).
            signature_version="s3v4",
        )
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3", endpoint_url=self._endpoint, region_name=self._region, config=config
            )
        )
        self._presigner = self._client
        if self._public_endpoint and self._public_endpoint != self._endpoint:
            # A signature covers the host: URLs for browsers are signed for the public one.
            self._presigner = await self._stack.enter_async_context(
                session.create_client(
                    "s3",
                    endpoint_url=self._public_endpoint,
                    region_name=self._region,
                    config=config,
                )
            )

    async def close(self) -> None:
        await self._stack.aclose()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore.start() was not awaited")
        return self._client

    def blob_key(self, key: str) -> str:
        if not is_blob_key(key):
            raise BlobNotFound()
        return f"{self.prefix}blobs/{key}"

    def staging_key(self, key: str, name: str) -> str:
        if not is_valid_id(key):
            raise BlobNotFound()
        return f"{self.prefix}staging/{key}/{name}"

    @property
    def deployment_key(self) -> str:
        return f"{self.prefix}.filebay/deployment"

    def quarantine_key(self, key: str) -> str:
        if not is_blob_key(key):
            raise BlobNotFound()
        return f"{self.prefix}quarantine/{key}"

    async def _list(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        async with s3_errors():
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item
