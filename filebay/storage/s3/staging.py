"""Staged (tus) uploads: an S3 multipart upload that grows over many requests, plus a tail
object for the bytes that do not fill a part yet and a state object that names both."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from filebay.errors import BlobNotFound, StorageUnavailable
from filebay.ids import is_valid_id, new_id
from filebay.storage.base import BlobStat
from filebay.storage.s3.client import S3Bucket
from filebay.storage.s3.errors import s3_errors
from filebay.storage.s3.writer import take


def _parts_size(parts: list[dict[str, Any]]) -> int:
    return sum(int(p["Size"]) for p in parts)


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

    def __init__(self, store: S3Staging, key: str, state: _StageState, tail: bytes) -> None:
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
            part = take(self._buffer, self._store.part_size)
            number = len(self._state.parts) + 1
            async with s3_errors():
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
        async with s3_errors():
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


class S3Staging(S3Bucket):
    """The staging area of ``S3BlobStore`` (``filebay.storage.base.Staging``)."""

    async def put_state(self, key: str, state: _StageState) -> None:
        await self.client.put_object(
            Bucket=self.bucket, Key=self.staging_key(key, "state.json"), Body=state.to_json()
        )

    async def _state(self, key: str) -> _StageState:
        async with s3_errors():
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
        async with s3_errors():
            answer = await self.client.get_object(Bucket=self.bucket, Key=tail_key)
            return bytes(await answer["Body"].read())

    async def create_staged(self, key: str) -> None:
        async with s3_errors():
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
        async with s3_errors():
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
                async with s3_errors():
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
