"""The S3 blob store: one class over the bucket, its writer, its staging area and its
quarantine; here, reading, stat, delete, listing, presigned GETs and the health check."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC

from botocore.exceptions import BotoCoreError, ClientError

from filebay.errors import BlobNotFound, StorageUnavailable
from filebay.storage.base import BlobStat
from filebay.storage.keys import is_blob_key
from filebay.storage.s3.errors import s3_errors, translate
from filebay.storage.s3.quarantine import S3Quarantine
from filebay.storage.s3.staging import S3Staging
from filebay.storage.s3.writer import S3BlobWriter

READ_CHUNK = 1024 * 1024


class S3BlobStore(S3Staging, S3Quarantine):
    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (handy for MinIO in Compose)."""
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket"):
                raise translate(exc) from exc
            location = {}
            if self._region and self._region != "us-east-1":
                location["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            async with s3_errors():
                await self.client.create_bucket(Bucket=self.bucket, **location)
        except (BotoCoreError, OSError) as exc:
            raise translate(exc) from exc

    async def open_writer(self, key: str) -> S3BlobWriter:
        return S3BlobWriter(self, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self._read_key(self.blob_key(key), start, end):
            yield chunk

    async def _read_key(self, s3_key: str, start: int, end: int | None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            return
        # No Range for the whole blob: "bytes=0-" of an empty object is unsatisfiable (416).
        ranged = (
            {}
            if start == 0 and end is None
            else {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        )
        async with s3_errors():
            answer = await self.client.get_object(Bucket=self.bucket, Key=s3_key, **ranged)
        body = answer["Body"]
        try:
            async with s3_errors():
                async for chunk in body.iter_chunks(READ_CHUNK):
                    yield chunk
        finally:
            body.close()

    async def stat(self, key: str) -> BlobStat:
        async with s3_errors():
            head = await self.client.head_object(Bucket=self.bucket, Key=self.blob_key(key))
        return BlobStat(key, int(head["ContentLength"]), head["LastModified"].astimezone(UTC))

    async def delete(self, key: str) -> None:
        async with s3_errors():
            await self.client.delete_object(Bucket=self.bucket, Key=self.blob_key(key))

    async def presign_get(
        self, key: str, *, expires: int, disposition: str, content_type: str
    ) -> str:
        """A GET URL for the blob, valid ``expires`` seconds; S3 answers it with our
        Content-Disposition and Content-Type (``response-content-*`` parameters)."""
        params = {
            "Bucket": self.bucket,
            "Key": self.blob_key(key),
            "ResponseContentDisposition": disposition,
            "ResponseContentType": content_type,
            "ResponseCacheControl": "private, no-cache",
        }
        async with s3_errors():
            url: str = await self._presigner.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )
        return url

    async def ping(self) -> None:
        try:
            async with s3_errors():
                await self.client.head_bucket(Bucket=self.bucket)
        except BlobNotFound as exc:
            raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from exc

    async def iter_blobs(self) -> AsyncIterator[BlobStat]:
        async for item in self._list(f"{self.prefix}blobs/"):
            key = item["Key"].rsplit("/", 1)[-1]
            if is_blob_key(key):
                yield BlobStat(key, int(item["Size"]), item["LastModified"].astimezone(UTC))

    async def iter_temps(self) -> AsyncIterator[BlobStat]:
        """Incomplete multipart uploads of one-shot writes (tus uploads are staged)."""
        staged = {s.key async for s in self.iter_staged()}
        paginator = self.client.get_paginator("list_multipart_uploads")
        async with s3_errors():
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}blobs/"):
                for upload in page.get("Uploads", []):
                    key = upload["Key"].rsplit("/", 1)[-1]
                    if key in staged:
                        continue
                    yield BlobStat(
                        f"{key}:{upload['UploadId']}", 0, upload["Initiated"].astimezone(UTC)
                    )

    async def remove_temp(self, key: str) -> None:
        blob, _, upload_id = key.partition(":")
        if not upload_id:
            return
        with contextlib.suppress(BlobNotFound):  # already gone (NoSuchUpload): fine
            async with s3_errors():
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.blob_key(blob), UploadId=upload_id
                )
