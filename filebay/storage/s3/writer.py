"""One-shot writes: a streaming multipart upload, published whole by ``commit``."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from filebay.storage.s3.client import S3Bucket
from filebay.storage.s3.errors import s3_errors


def take(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer``, removed from it, copied once."""
    with memoryview(buffer) as view:
        part = bytes(view[:size])
    del buffer[:size]
    return part


class S3BlobWriter:
    """A streaming multipart upload: parts of ``part_size`` go out as they fill, so memory
    holds one part at most; nothing is visible until ``commit`` completes the upload."""

    def __init__(self, store: S3Bucket, key: str) -> None:
        self._store = store
        self._key = store.blob_key(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) >= self._store.part_size:
            await self._upload_part(take(self._buffer, self._store.part_size))

    async def _upload_part(self, part: bytes) -> None:
        client = self._store.client
        try:
            async with s3_errors():
                if self._upload_id is None:
                    created = await client.create_multipart_upload(
                        Bucket=self._store.bucket, Key=self._key
                    )
                    self._upload_id = created["UploadId"]
                number = len(self._parts) + 1
                answer = await client.upload_part(
                    Bucket=self._store.bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=part,
                )
                self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        except Exception:
            await self.abort()
            raise

    async def commit(self) -> None:
        client = self._store.client
        try:
            async with s3_errors():
                if self._upload_id is None:
                    # Small blob: one PUT is atomic too.
                    await client.put_object(
                        Bucket=self._store.bucket, Key=self._key, Body=bytes(self._buffer)
                    )
                else:
                    if self._buffer or not self._parts:
                        await self._upload_part(bytes(self._buffer))
                    await client.complete_multipart_upload(
                        Bucket=self._store.bucket,
                        Key=self._key,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
        except Exception:
            await self.abort()
            raise
        self._done = True
        self._buffer = bytearray()

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            # An incomplete multipart upload is kept (and billed) until aborted.
            with contextlib.suppress(ClientError, BotoCoreError, OSError):
                await self._store.client.abort_multipart_upload(
                    Bucket=self._store.bucket, Key=self._key, UploadId=self._upload_id
                )
