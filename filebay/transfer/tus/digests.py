"""The running hashes of tus uploads, kept in this process between PATCHes.

Finishing an upload then reads nothing back: its SHA-256 and CRC-32 were computed as the
bytes came in. This is a cache, not a record: a PATCH that lands in a process without the
hashes of the bytes before it (a restart, another replica) hashes those bytes once instead.
An entry is only ever kept for an offset the catalog recorded, whose bytes no longer change,
so an older entry is still right about the bytes it covers.
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

#: Uploads whose hashes are kept at once; the oldest go first (and are re-read if resumed).
CAPACITY = 4096


class Digest:
    """SHA-256 and CRC-32 of an upload's first ``offset`` bytes."""

    __slots__ = ("crc32", "offset", "sha256")

    def __init__(self, offset: int = 0, sha256: Any = None, crc32: int = 0) -> None:
        self.offset = offset
        self.sha256 = sha256 if sha256 is not None else hashlib.sha256()
        self.crc32 = crc32

    def update(self, data: bytes | bytearray | memoryview) -> None:
        # Both release the GIL on large buffers: a caller runs this in a worker thread.
        self.sha256.update(data)
        self.crc32 = zlib.crc32(data, self.crc32)
        self.offset += len(data)

    def copy(self) -> Digest:
        return Digest(self.offset, self.sha256.copy(), self.crc32)

    def hexdigest(self) -> str:
        return str(self.sha256.hexdigest())


class Digests:
    """Upload id → its ``Digest`` at the offset the catalog last recorded."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._held: OrderedDict[str, Digest] = OrderedDict()

    def take(self, upload_id: str, offset: int) -> Digest | None:
        """The hashes this process has of the upload's first ``offset`` bytes or fewer (a
        replica may have written the rest since: only those are left to read); they leave
        the cache (the PATCH holding the upload's lease owns them until it keeps them)."""
        digest = self._held.pop(upload_id, None)
        return digest if digest is not None and digest.offset <= offset else None

    def keep(self, upload_id: str, digest: Digest) -> None:
        """Hold ``digest`` (its offset is recorded) unless a further one is held already: a
        request that lost its lease must not replace the state of the one that took over."""
        held = self._held.get(upload_id)
        if held is not None and held.offset > digest.offset:
            return
        self._held[upload_id] = digest
        self._held.move_to_end(upload_id)
        while len(self._held) > self._capacity:
            self._held.popitem(last=False)

    def drop(self, upload_id: str) -> None:
        self._held.pop(upload_id, None)


async def hash_into(digest: Digest, chunks: AsyncIterator[bytes]) -> None:
    """Feed ``chunks`` (bytes read back) to ``digest``, hashing in a worker thread."""
    async for chunk in chunks:
        await asyncio.to_thread(digest.update, chunk)


#: This process's hashes (a TusService is made per request; the cache outlives it).
PROCESS_DIGESTS = Digests()
