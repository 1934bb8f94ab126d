"""The blob store contract: a small async interface over bytes stored under generated keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class BlobStat:
    key: str
    size: int
    modified_at: datetime


class BlobWriter(Protocol):
    """One blob being written. Nothing is visible under the key until ``commit``."""

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Append ``data``. Raises ``StorageFull`` (ENOSPC) or ``StorageUnavailable``."""

    async def commit(self) -> None:
        """Publish atomically and durably: afterwards the whole blob is readable, before it
        nothing is. The writer is finished either way."""

    async def abort(self) -> None:
        """Discard what was written. Safe to call more than once and after a failure."""


class BlobStore(Protocol):
    """Where file bytes live. Keys are generated ids, never user-supplied names."""

    async def open_writer(self, key: str) -> BlobWriter:
        """Start writing a new blob under ``key``."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield bytes ``start`` to ``end`` (exclusive; ``None`` = to the end) in chunks.
        Raises ``BlobNotFound`` when the key is absent."""

    async def stat(self, key: str) -> BlobStat:
        """Size and modification time; ``BlobNotFound`` when absent."""

    async def delete(self, key: str) -> None:
        """Remove the blob; absent is not an error."""

    async def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the store can be written and read."""


@runtime_checkable
class Sweepable(Protocol):
    """Optional power used by fsck and the sweeper: enumerate blobs and leftovers."""

    def iter_blobs(self) -> AsyncIterator[BlobStat]:
        """Every published blob."""

    def iter_temps(self) -> AsyncIterator[BlobStat]:
        """Every unfinished write (temp file, incomplete multipart upload)."""

    async def remove_temp(self, key: str) -> None:
        """Discard one unfinished write named by ``iter_temps``."""


@runtime_checkable
class Identified(Protocol):
    """Optional power: the store keeps the deployment identity it shares with the catalog
    (see ``filebay.upkeep.identity``), so a catalog and a store that do not belong together are
    noticed before anything is swept."""

    async def read_deployment(self) -> str | None:
        """The identity written by ``write_deployment``, or ``None`` when there is none."""

    async def write_deployment(self, value: str) -> str:
        """Write ``value`` atomically unless an identity is there already; the stored one."""


@runtime_checkable
class Quarantining(Protocol):
    """Optional power: orphan blobs are moved aside before they are deleted, so a catalog
    restored within the quarantine gets its files back."""

    async def quarantine(self, key: str) -> None:
        """Move the published blob ``key`` aside (its quarantine time is now); absent is
        not an error."""

    def iter_quarantined(self) -> AsyncIterator[BlobStat]:
        """Every quarantined blob; ``modified_at`` is when it was moved aside."""

    async def restore_quarantined(self, key: str) -> None:
        """Put a quarantined blob back where it was published; absent is not an error."""

    async def delete_quarantined(self, key: str) -> None:
        """Delete a quarantined blob for good; absent is not an error."""


@runtime_checkable
class Presigning(Protocol):
    """Optional power: a URL that lets its holder GET one blob straight from the store."""

    async def presign_get(
        self, key: str, *, expires: int, disposition: str, content_type: str
    ) -> str:
        """A time-limited URL whose answer carries ``disposition`` and ``content_type``."""


class StagedWriter(Protocol):
    """Appends to a staged (partial) blob from a known offset."""

    async def write(self, data: bytes | bytearray | memoryview) -> None: ...

    async def sync(self) -> int:
        """Make everything written durable; the durable size."""

    async def truncate(self, size: int) -> None:
        """Drop bytes past ``size`` (a chunk that failed its checksum)."""

    async def close(self) -> None: ...


@runtime_checkable
class Staging(Protocol):
    """Optional power: partial blobs that grow over several requests (tus), then publish."""

    async def create_staged(self, key: str) -> None: ...

    async def staged_size(self, key: str) -> int:
        """Bytes staged so far; ``BlobNotFound`` when there is no such staged blob."""

    async def append_staged(self, key: str, offset: int) -> StagedWriter:
        """A writer at ``offset``; bytes past it (an unacknowledged write) are dropped first."""

    async def publish_staged(self, key: str) -> None:
        """Atomically and durably make the staged bytes the blob ``key``."""

    async def delete_staged(self, key: str) -> None: ...

    def iter_staged(self) -> AsyncIterator[BlobStat]: ...


@runtime_checkable
class ReadableStaging(Protocol):
    """Optional power: staged bytes can be read back, so a tus upload continued in a process
    that did not see its earlier bytes hashes them then, once (S3 cannot: the parts of an
    unfinished multipart upload are not readable, and its blob is read once published)."""

    def read_staged(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield staged bytes ``start`` to ``end`` (exclusive); ``BlobNotFound`` when absent."""


class StagingStore(BlobStore, Staging, Protocol):
    """A blob store that also stages resumable uploads (what tus needs)."""
