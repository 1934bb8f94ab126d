"""Blobs in any S3-compatible object store (AWS S3, MinIO, Ceph RGW, Garage, R2).

Why aiobotocore: it is the asyncio face of botocore, the library AWS maintains, and it
exposes the whole S3 API. Resumable uploads need the low-level multipart calls (one
multipart upload that grows over many requests, parts listed and completed later), which
obstore's higher-level put/get API does not expose.

Layout under the bucket (and ``FILEBAY_S3_PREFIX``): ``blobs/<key>`` for published blobs;
``staging/<key>/state.json`` and ``staging/<key>/tail-<n>`` for tus uploads in progress;
``quarantine/<key>`` for orphan blobs moved aside; ``.filebay/deployment`` for the deployment
identity shared with the catalog.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from filebay.errors import BlobNotFound, StorageFull, StorageUnavailable
from filebay.ids import is_valid_id, new_id
from filebay.storage.base import BlobStat

MIN_PART = 5 * 1024 * 1024  # S3's minimum for every part but the last
READ_CHUNK = 1024 * 1024
NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchUpload"})
#: The largest object one CopyObject call copies; bigger ones are copied in parts.
COPY_LIMIT = 5 * 1024**3
COPY_PART = 1024**3


def _translate(exc: Exception) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in NOT_FOUND:
            return BlobNotFound()
        if code in ("EntityTooLarge", "QuotaExceeded", "XMinioStorageFull"):
            return StorageFull()
        return StorageUnavailable(f"blob store error: {code or exc}")
    return StorageUnavailable(f"blob store unreachable: {exc}")


def _take(buffer: bytearray, size: int) -> bytes:
    """The first ``size`` bytes of ``buffer``, removed from it, copied once."""
    with memoryview(buffer) as view:
        part = bytes(view[:size])
    del buffer[:size]
    return part


def _parts_size(parts: list[dict[str, Any]]) -> int:
    return sum(int(p["Size"]) for p in parts)


@contextlib.asynccontextmanager
async def _s3_errors() -> AsyncIterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, OSError) as exc:
        raise _translate(exc) from exc


class S3BlobWriter:
    """A streaming multipart upload: parts of ``part_size`` go out as they fill, so memory
    holds one part at most; nothing is visible until ``commit`` completes the upload."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = store.blob_key(key)
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) >= self._store.part_size:
            await self._upload_part(_take(self._buffer, self._store.part_size))

    async def _upload_part(self, part: bytes) -> None:
        client = self._store.client
        try:
            async with _s3_errors():
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
            async with _s3_errors():
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


@dataclass
class _StageState:
    upload_id: str
    parts: list[dict[str, Any]] = field(default_factory=list)  # PartNumber, ETag, Size
    tail_key: str | None = None
    tail_size: int = 0
    #: The state before the last ``sync`` (parts, tail_key, tail_size). The catalog advances
    #: the offset only after a sync, and that step can fail (metadata service down), so the
    #: next request may start from the older offset: its parts and tail are kept for it.
    previous: dict[str, Any] | None = None

    @property
    def parts_size(self) -> int:
        return _parts_size(self.parts)

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__).encode()


class S3StagedWriter:
    """Appends to a tus upload kept as an S3 multipart upload plus a small tail object.

    Parts must be at least 5 MiB, but a PATCH may carry less: bytes that do not fill a part
    wait in a tail object until a later PATCH (or the end) completes them. ``sync`` writes
    the tail and then the state object that names it, so the state always describes bytes
    that are stored."""

    def __init__(self, store: S3BlobStore, key: str, state: _StageState, tail: bytes) -> None:
        self._store = store
        self._key = key
        self._state = state
        # Where this writer started (what ``truncate`` goes back to) and the tail objects the
        # stored state names (the ones a ``sync`` no longer needs are deleted).
        self._base_parts = list(state.parts)
        self._base_tail_key = state.tail_key
        self._base_tail = tail
        self._tails = {state.tail_key, (state.previous or {}).get("tail_key")} - {None}
        self._buffer = bytearray(tail)

    @property
    def size(self) -> int:
        return self._state.parts_size + len(self._buffer)

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        while len(self._buffer) >= self._store.part_size:
            part = _take(self._buffer, self._store.part_size)
            number = len(self._state.parts) + 1
            async with _s3_errors():
                answer = await self._store.client.upload_part(
                    Bucket=self._store.bucket,
                    Key=self._store.blob_key(self._key),
                    UploadId=self._state.upload_id,
                    PartNumber=number,
                    Body=part,
                )
            self._state.parts.append(
                {"PartNumber": number, "ETag": answer["ETag"], "Size": len(part)}
            )

    async def sync(self) -> int:
        store = self._store
        new_tail = store.staging_key(self._key, f"tail-{new_id()[:12]}")
        async with _s3_errors():
            await store.client.put_object(
                Bucket=store.bucket, Key=new_tail, Body=bytes(self._buffer)
            )
            self._state.previous = {
                "parts": list(self._base_parts),
                "tail_key": self._base_tail_key,
                "tail_size": len(self._base_tail),
            }
            self._state.tail_key, self._state.tail_size = new_tail, len(self._buffer)
            await store.put_state(self._key, self._state)
            needed = {new_tail, self._base_tail_key}
            for old in self._tails - needed:
                await store.client.delete_object(Bucket=store.bucket, Key=old)
        self._tails = needed - {None}
        self._base_parts, self._base_tail_key = list(self._state.parts), new_tail
        self._base_tail = bytes(self._buffer)
        return self.size

    async def truncate(self, size: int) -> None:
        """Back to ``size``: where this writer started (a chunk that failed its checksum), or
        where the request before the last ``sync`` left it (that sync was never acknowledged).
        Completed parts cannot be read back, so nothing older can be restored."""
        if size < _parts_size(self._base_parts):
            previous = self._state.previous
            if previous is None or size < _parts_size(previous["parts"]):
                raise ValueError("cannot truncate into completed parts")
            self._base_parts = list(previous["parts"])
            self._base_tail_key = previous["tail_key"]
            self._base_tail = await self._store.read_tail(
                previous["tail_key"], previous["tail_size"]
            )
            self._state.previous = None
        keep = size - _parts_size(self._base_parts)
        if keep > len(self._base_tail):
            raise ValueError("cannot truncate past the staged bytes")
        self._state.parts = list(self._base_parts)
        self._buffer = bytearray(self._base_tail[:keep])

    async def close(self) -> None:
        self._buffer = bytearray()


class S3BlobStore:
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
        if not is_valid_id(key):
            raise BlobNotFound()
        return f"{self.prefix}blobs/{key}"

    def staging_key(self, key: str, name: str) -> str:
        if not is_valid_id(key):
            raise BlobNotFound()
        return f"{self.prefix}staging/{key}/{name}"

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (handy for MinIO in Compose)."""
        try:
            await self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket"):
                raise _translate(exc) from exc
            location = {}
            if self._region and self._region != "us-east-1":
                location["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            async with _s3_errors():
                await self.client.create_bucket(Bucket=self.bucket, **location)
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc) from exc

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
        async with _s3_errors():
            answer = await self.client.get_object(Bucket=self.bucket, Key=s3_key, **ranged)
        body = answer["Body"]
        try:
            async with _s3_errors():
                async for chunk in body.iter_chunks(READ_CHUNK):
                    yield chunk
        finally:
            body.close()

    async def stat(self, key: str) -> BlobStat:
        async with _s3_errors():
            head = await self.client.head_object(Bucket=self.bucket, Key=self.blob_key(key))
        return BlobStat(key, int(head["ContentLength"]), head["LastModified"].astimezone(UTC))

    async def delete(self, key: str) -> None:
        async with _s3_errors():
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
        async with _s3_errors():
            url: str = await self._presigner.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )
        return url

    async def ping(self) -> None:
        try:
            async with _s3_errors():
                await self.client.head_bucket(Bucket=self.bucket)
        except BlobNotFound as exc:
            raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from exc

    async def _list(self, prefix: str) -> AsyncIterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        async with _s3_errors():
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item

    async def iter_blobs(self) -> AsyncIterator[BlobStat]:
        async for item in self._list(f"{self.prefix}blobs/"):
            key = item["Key"].rsplit("/", 1)[-1]
            if is_valid_id(key):
                yield BlobStat(key, int(item["Size"]), item["LastModified"].astimezone(UTC))

    async def iter_temps(self) -> AsyncIterator[BlobStat]:
        """Incomplete multipart uploads of one-shot writes (tus uploads are staged)."""
        staged = {s.key async for s in self.iter_staged()}
        paginator = self.client.get_paginator("list_multipart_uploads")
        async with _s3_errors():
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
            async with _s3_errors():
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.blob_key(blob), UploadId=upload_id
                )

    # --- staging (tus) ---

    async def put_state(self, key: str, state: _StageState) -> None:
        await self.client.put_object(
            Bucket=self.bucket, Key=self.staging_key(key, "state.json"), Body=state.to_json()
        )

    async def _state(self, key: str) -> _StageState:
        async with _s3_errors():
            answer = await self.client.get_object(
                Bucket=self.bucket, Key=self.staging_key(key, "state.json")
            )
            raw = await answer["Body"].read()
        return _StageState(**json.loads(raw))

    async def _tail(self, state: _StageState) -> bytes:
        return await self.read_tail(state.tail_key, state.tail_size)

    async def read_tail(self, tail_key: str | None, size: int) -> bytes:
        if not tail_key or size == 0:
            return b""
        async with _s3_errors():
            answer = await self.client.get_object(Bucket=self.bucket, Key=tail_key)
            return bytes(await answer["Body"].read())

    async def create_staged(self, key: str) -> None:
        async with _s3_errors():
            created = await self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.blob_key(key)
            )
            await self.put_state(key, _StageState(upload_id=created["UploadId"]))

    async def staged_size(self, key: str) -> int:
        state = await self._state(key)
        return state.parts_size + state.tail_size

    async def append_staged(self, key: str, offset: int) -> S3StagedWriter:
        state = await self._state(key)
        tail = await self._tail(state)
        writer = S3StagedWriter(self, key, state, tail)
        # Bytes past the acknowledged offset (a request that died before advancing) go.
        await writer.truncate(offset)
        return writer

    async def publish_staged(self, key: str) -> None:
        state = await self._state(key)
        tail = await self._tail(state)
        parts = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in state.parts]
        async with _s3_errors():
            if tail or not parts:
                answer = await self.client.upload_part(
                    Bucket=self.bucket,
                    Key=self.blob_key(key),
                    UploadId=state.upload_id,
                    PartNumber=len(parts) + 1,
                    Body=tail,
                )
                parts.append({"PartNumber": len(parts) + 1, "ETag": answer["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.blob_key(key),
                UploadId=state.upload_id,
                MultipartUpload={"Parts": parts},
            )
        await self._drop_staging(key, state)

    async def _drop_staging(self, key: str, state: _StageState | None) -> None:
        with contextlib.suppress(BlobNotFound, StorageUnavailable):
            async for item in self._list(self.staging_key(key, "")):
                async with _s3_errors():
                    await self.client.delete_object(Bucket=self.bucket, Key=item["Key"])

    async def delete_staged(self, key: str) -> None:
        try:
            state: _StageState | None = await self._state(key)
        except BlobNotFound:
            state = None
        if state is not None:
            with contextlib.suppress(ClientError, BotoCoreError, OSError):
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.blob_key(key), UploadId=state.upload_id
                )
        await self._drop_staging(key, state)

    async def iter_staged(self) -> AsyncIterator[BlobStat]:
        async for item in self._list(f"{self.prefix}staging/"):
            parts = item["Key"].split("/")
            if parts[-1] == "state.json" and is_valid_id(parts[-2]):
                yield BlobStat(parts[-2], 0, item["LastModified"].astimezone(UTC))

    # --- the deployment identity and the quarantine ---

    @property
    def deployment_key(self) -> str:
        return f"{self.prefix}.filebay/deployment"

    def quarantine_key(self, key: str) -> str:
        if not is_valid_id(key):
            raise BlobNotFound()
        return f"{self.prefix}quarantine/{key}"

    async def read_deployment(self) -> str | None:
        try:
            async with _s3_errors():
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
        async with _s3_errors():
            await self.client.put_object(
                Bucket=self.bucket, Key=self.deployment_key, Body=f"{value}\n".encode()
            )
        return await self.read_deployment() or value

    async def _move(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target``, then delete ``source`` (S3 has no rename)."""
        async with _s3_errors():
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
            if is_valid_id(key):
                yield BlobStat(key, int(item["Size"]), item["LastModified"].astimezone(UTC))

    async def restore_quarantined(self, key: str) -> None:
        with contextlib.suppress(BlobNotFound):
            await self._move(self.quarantine_key(key), self.blob_key(key))

    async def delete_quarantined(self, key: str) -> None:
        async with _s3_errors():
            await self.client.delete_object(Bucket=self.bucket, Key=self.quarantine_key(key))
