"""Orphan blobs moved aside (and back, or away for good), and the deployment identity object
shared with the catalog."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC

from botocore.exceptions import BotoCoreError, ClientError

from filebay.errors import BlobNotFound
from filebay.storage.base import BlobStat
from filebay.storage.keys import is_blob_key
from filebay.storage.s3.client import S3Bucket
from filebay.storage.s3.errors import s3_errors

#: The largest object one CopyObject call copies; bigger ones are copied in parts.
COPY_LIMIT = 5 * 1024**3
COPY_PART = 1024**3


class S3Quarantine(S3Bucket):
    """The deployment identity and the quarantine of ``S3BlobStore`` (``Identified``,
    ``Quarantining``)."""

    async def read_deployment(self) -> str | None:
        try:
            async with s3_errors():
                answer = await self.client.get_object(Bucket=self.bucket, Key=self.deployment_key)
                raw = await answer["Body"].read()
        except BlobNotFound:
            return None
        return bytes(raw).decode().strip() or None

    async def write_deployment(self, value: str) -> str:
        # Only the catalog's identity is ever written here (the catalog decides, with a
        # primary key, which of several starting processes was first), so a plain PUT is safe.
        stored = await self.read_deployment()
        if stored is not None:
            return stored
        async with s3_errors():
            await self.client.put_object(
                Bucket=self.bucket, Key=self.deployment_key, Body=f"{value}\n".encode()
            )
        return await self.read_deployment() or value

    async def _move(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target``, then delete ``source`` (S3 has no rename)."""
        async with s3_errors():
            head = await self.client.head_object(Bucket=self.bucket, Key=source)
            size = int(head["ContentLength"])
            copy_source = {"Bucket": self.bucket, "Key": source}
            if size <= COPY_LIMIT:
                await self.client.copy_object(
                    Bucket=self.bucket, Key=target, CopySource=copy_source
                )
            else:
                await self._copy_in_parts(copy_source, target, size)
            await self.client.delete_object(Bucket=self.bucket, Key=source)

    async def _copy_in_parts(self, copy_source: dict[str, str], target: str, size: int) -> None:
        created = await self.client.create_multipart_upload(Bucket=self.bucket, Key=target)
        upload_id = created["UploadId"]
        parts = []
        try:
            for number, start in enumerate(range(0, size, COPY_PART), 1):
                end = min(start + COPY_PART, size) - 1
                answer = await self.client.upload_part_copy(
                    Bucket=self.bucket,
                    Key=target,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=copy_source,
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=target,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError, OSError):
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=target, UploadId=upload_id
                )
            raise

    async def quarantine(self, key: str) -> None:
        # The copy's LastModified is the start of the quarantine.
        with contextlib.suppress(BlobNotFound):
            await self._move(self.blob_key(key), self.quarantine_key(key))

    async def iter_quarantined(self) -> AsyncIterator[BlobStat]:
        async for item in self._list(f"{self.prefix}quarantine/"):
            key = item["Key"].rsplit("/", 1)[-1]
            if is_blob_key(key):
                yield BlobStat(key, int(item["Size"]), item["LastModified"].astimezone(UTC))

    async def restore_quarantined(self, key: str) -> None:
        with contextlib.suppress(BlobNotFound):
            await self._move(self.quarantine_key(key), self.blob_key(key))

    async def delete_quarantined(self, key: str) -> None:
        async with s3_errors():
            await self.client.delete_object(Bucket=self.bucket, Key=self.quarantine_key(key))
