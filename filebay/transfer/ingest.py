"""Stream bytes into a blob: count, enforce the size limit, hash SHA-256 and CRC-32 (zip
entries need it), publish atomically."""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from dataclasses import dataclass

from filebay.errors import TooLarge
from filebay.ids import new_id
from filebay.storage.base import BlobStore, BlobWriter

# Socket chunks are ~64 KiB; hashing and writing them in 1 MiB batches off the event loop
# keeps per-chunk overhead low while the loop keeps receiving the next batch.
FLUSH_BYTES = 1024 * 1024
# hashlib lets go of the GIL for an update of 2 KiB or more. For a small tail that costs more
# than it saves: the worker threads (fsyncs, the catalog) take the GIL meanwhile and the
# event loop waits to get it back, up to the 5 ms switch interval. Under this size the tail
# is hashed in pieces that keep the GIL (measured: 4 KiB uploads, +20% in-process).
KEEP_GIL_BELOW = 64 * 1024
_GIL_FREE_FROM = 2048


def _hash_tail(hasher: hashlib._Hash, data: bytearray) -> None:
    if len(data) >= KEEP_GIL_BELOW:
        hasher.update(data)
        return
    view = memoryview(data)
    step = _GIL_FREE_FROM - 1
    for start in range(0, len(view), step):
        hasher.update(view[start : start + step])


class _Digests:
    """SHA-256 and CRC-32 of the same bytes, updated together in one pass. zlib.crc32
    lets go of the GIL from 5 KiB on, like hashlib: a batch costs one thread hop for both."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.crc32 = 0

    def update_sha256(self, data: bytearray) -> None:
        self.sha256.update(data)

    def update_crc32(self, data: bytearray) -> None:
        self.crc32 = zlib.crc32(data, self.crc32)

    def update_tail(self, data: bytearray) -> None:
        _hash_tail(self.sha256, data)
        self.crc32 = zlib.crc32(data, self.crc32)


@dataclass(frozen=True, slots=True)
class StoredBlob:
    key: str
    size: int
    sha256: str
    crc32: int


class BlobIngest:
    """One upload on its way into the blob store.

    At most two batches are in memory: the one being filled and the one being hashed and
    written in a worker thread. Callers must ``finish`` or ``abort``.
    """

    def __init__(self, writer: BlobWriter, key: str, limit: int) -> None:
        self.key = key
        self.size = 0
        self._writer = writer
        self._limit = limit
        self._hash = _Digests()
        self._batch = bytearray()
        self._pending: asyncio.Task[None] | None = None
        self._done = False

    @classmethod
    async def start(cls, store: BlobStore, limit: int) -> BlobIngest:
        key = new_id()
        return cls(await store.open_writer(key), key, limit)

    async def feed(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise TooLarge()
        self._batch += data
        if len(self._batch) >= FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        batch, self._batch = self._batch, bytearray()
        if self._pending is not None:
            await self._pending
        self._pending = asyncio.create_task(self._hash_and_write(batch))

    async def _hash_and_write(self, batch: bytearray) -> None:
        # SHA-256, CRC-32 and writing run in worker threads at once (hashlib, zlib and
        # os.write release the GIL), while the event loop goes on receiving the next batch:
        # one after the other, the CRC-32 would lengthen the hashing thread's turn.
        hashed = asyncio.ensure_future(asyncio.to_thread(self._hash.update_sha256, batch))
        checked = asyncio.ensure_future(asyncio.to_thread(self._hash.update_crc32, batch))
        try:
            await self._writer.write(batch)
        finally:
            await hashed
            await checked

    async def finish(self) -> StoredBlob:
        """Write what is left, publish the blob, and say what was stored."""
        if self._pending is not None:
            await self._pending
            self._pending = None
        if self._batch:
            # The last batch is under 1 MiB: hashing it here costs less than a thread hop.
            self._hash.update_tail(self._batch)
            await self._writer.write(self._batch)
            self._batch = bytearray()
        await self._writer.commit()
        self._done = True
        return StoredBlob(self.key, self.size, self._hash.sha256.hexdigest(), self._hash.crc32)

    async def abort(self) -> None:
        """Discard everything; the key never becomes visible."""
        if self._done:
            return
        self._done = True
        if self._pending is not None:
            pending, self._pending = self._pending, None
            # Never cancel: the worker thread would go on writing to a closed descriptor.
            # A batch is at most 1 MiB, so waiting for it is short.
            await asyncio.gather(pending, return_exceptions=True)
        await self._writer.abort()
