"""tus uploads are hashed on the way in: finishing reads nothing back; a PATCH landing in a
process without the earlier hashes (a restart, another replica) reads those bytes once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.uploads import SqlUploads
from filebay.errors import ChecksumMismatch, ClientGone
from filebay.storage.base import ReadableStaging
from filebay.storage.local import LocalBlobStore
from filebay.transfer.tus.digests import Digest, Digests
from filebay.transfer.tus.service import TusService


class BlindStore:
    """A local store that counts the bytes read back from blobs, and cannot read staged
    bytes (as S3 cannot: an unfinished multipart upload is not readable)."""

    def __init__(self, root: Path) -> None:
        self._inner = LocalBlobStore(root)
        self.blob_bytes_read = 0
        self.staged_bytes_read = 0
        self.staged_reads = 0

    def __getattr__(self, name: str) -> Any:
        if name == "read_staged":
            raise AttributeError(name)
        return getattr(self._inner, name)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self._inner.read(key, start, end):
            self.blob_bytes_read += len(chunk)
            yield chunk


class CountingStore(BlindStore):
    """A local store that counts the bytes read back, from blobs and from staging."""

    def read_staged(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        self.staged_reads += 1
        return self._count_staged(self._inner.read_staged(key, start, end))

    async def _count_staged(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.staged_bytes_read += len(chunk)
            yield chunk


async def _body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _vanishing_after(data: bytes) -> AsyncIterator[bytes]:
    yield data
    raise ClientGone()


@contextlib.asynccontextmanager
async def _catalog(tmp_path: Path) -> AsyncIterator[tuple[SqlCatalog, SqlUploads]]:
    catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'filebay.db'}")
    try:
        yield catalog, SqlUploads(catalog.engine)
    finally:
        await catalog.close()


def _tus(store: Any, catalog: SqlCatalog, uploads: SqlUploads) -> TusService:
    """A TusService with a cache of its own: a new one is a new process."""
    return TusService(
        store, catalog, uploads, max_size=1 << 30, expiry_seconds=3600, digests=Digests()
    )


def _expected(data: bytes) -> tuple[str, int]:
    return hashlib.sha256(data).hexdigest(), zlib.crc32(data)


def test_a_digest_goes_on_where_it_stopped() -> None:
    data = os.urandom(3000)
    digest = Digest()
    digest.update(data[:1000])
    copy = digest.copy()
    digest.update(data[1000:])
    assert (digest.hexdigest(), digest.crc32, digest.offset) == (*_expected(data), 3000)
    assert (copy.hexdigest(), copy.crc32, copy.offset) == (*_expected(data[:1000]), 1000)


def test_the_cache_gives_a_digest_up_to_an_offset_and_never_goes_back() -> None:
    digests = Digests(capacity=2)
    ahead = Digest()
    ahead.update(b"abc")
    digests.keep("u1", ahead)
    digests.keep("u1", Digest())  # a stale request's older state does not replace it
    assert digests.take("u1", 0) is None  # not at that offset; and taken out
    assert digests.take("u1", 3) is None
    digests.keep("u1", ahead)
    assert digests.take("u1", 3) is ahead
    digests.keep("u1", ahead)
    assert digests.take("u1", 10) is ahead  # older is right about its bytes: 7 left to read
    for name in ("a", "b", "c"):  # over capacity: the oldest goes
        digests.keep(name, Digest())
    assert digests.take("a", 0) is None
    assert digests.take("c", 0) is not None


def test_finishing_reads_nothing_back_and_records_both_hashes(tmp_path: Path) -> None:
    async def scenario() -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        store = CountingStore(tmp_path / "data")
        async with _catalog(tmp_path) as (catalog, uploads):
            tus = _tus(store, catalog, uploads)
            session = await tus.create("alice", None, len(data), "a.bin", None, "")
            cuts = [0, 1_000_000, 2_500_000, len(data)]
            for start, end in itertools.pairwise(cuts):
                body = _body(data[start : end - 10], data[end - 10 : end])
                progress = await tus.append(session.id, "alice", None, start, None, None, body)
            assert progress.record is not None
            record = await catalog.get(session.id, "alice")
            assert (record.sha256, record.crc32) == _expected(data)
            assert (store.blob_bytes_read, store.staged_bytes_read) == (0, 0)

    asyncio.run(scenario())


def test_a_patch_in_a_new_process_reads_the_bytes_before_it_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        data = os.urandom(2 * 1024 * 1024 + 5)
        store = CountingStore(tmp_path / "data")
        async with _catalog(tmp_path) as (catalog, uploads):
            first = _tus(store, catalog, uploads)
            session = await first.create("alice", None, len(data), "b.bin", None, "")
            await first.append(session.id, "alice", None, 0, None, None, _body(data[:700_000]))
            # A restart (or another replica): the next PATCHes land in a new process.
            second = _tus(store, catalog, uploads)
            cut = 1_500_000
            await second.append(
                session.id, "alice", None, 700_000, None, None, _body(data[700_000:cut])
            )
            await second.append(session.id, "alice", None, cut, None, None, _body(data[cut:]))
            record = await catalog.get(session.id, "alice")
            assert (record.sha256, record.crc32) == _expected(data)
            # Only the bytes the new process had not seen, once; the blob never.
            assert (store.staged_reads, store.staged_bytes_read) == (1, 700_000)
            assert store.blob_bytes_read == 0

    asyncio.run(scenario())


def test_two_processes_taking_turns_each_read_only_what_they_did_not_see(tmp_path: Path) -> None:
    """Replicas (or ``--workers``) alternating PATCHes: each hashes every byte at most once,
    as it arrives or, written by the other, when it next gets a PATCH."""

    async def scenario() -> None:
        cuts = [0, 100_000, 250_000, 400_000, 600_000, 700_001]
        data = os.urandom(cuts[-1])
        store = CountingStore(tmp_path / "data")
        async with _catalog(tmp_path) as (catalog, uploads):
            one, two = _tus(store, catalog, uploads), _tus(store, catalog, uploads)
            session = await one.create("alice", None, len(data), "t.bin", None, "")
            for turn, (start, end) in enumerate(itertools.pairwise(cuts)):
                tus = (one, two)[turn % 2]
                await tus.append(
                    session.id, "alice", None, start, None, None, _body(data[start:end])
                )
            record = await catalog.get(session.id, "alice")
            assert (record.sha256, record.crc32) == _expected(data)
            # two read 0 to 100,000 and 250,000 to 400,000; one read 100,000 to 250,000 and
            # 400,000 to 600,000: what the other wrote, each byte once.
            assert store.staged_bytes_read == 100_000 + 150_000 + 150_000 + 200_000
            assert store.blob_bytes_read == 0

    asyncio.run(scenario())


def test_without_readable_staging_the_blob_is_read_once_at_the_end(tmp_path: Path) -> None:
    """As on S3, whose unfinished multipart uploads cannot be read: a PATCH in a new process
    cannot catch up, so the finish reads the published blob, once."""

    async def scenario() -> None:
        data = os.urandom(1024 * 1024 + 3)
        store = BlindStore(tmp_path / "data")
        assert not isinstance(store, ReadableStaging)
        async with _catalog(tmp_path) as (catalog, uploads):
            first = _tus(store, catalog, uploads)
            session = await first.create("alice", None, len(data), "c.bin", None, "")
            await first.append(session.id, "alice", None, 0, None, None, _body(data[:1000]))
            second = _tus(store, catalog, uploads)
            await second.append(session.id, "alice", None, 1000, None, None, _body(data[1000:2000]))
            await second.append(session.id, "alice", None, 2000, None, None, _body(data[2000:]))
            record = await catalog.get(session.id, "alice")
            assert (record.sha256, record.crc32) == _expected(data)
            assert store.blob_bytes_read == len(data)

    asyncio.run(scenario())


def test_failed_and_cut_off_patches_leave_the_hashes_right(tmp_path: Path) -> None:
    """A chunk that fails its checksum is dropped with its hashes; a client that vanishes
    keeps what arrived, hashes included: the finish still reads nothing back."""

    async def scenario() -> None:
        data = os.urandom(600_000)
        store = CountingStore(tmp_path / "data")
        async with _catalog(tmp_path) as (catalog, uploads):
            tus = _tus(store, catalog, uploads)
            session = await tus.create("alice", None, len(data), "d.bin", None, "")
            await tus.append(session.id, "alice", None, 0, None, None, _body(data[:100_000]))
            wrong = ("sha256", hashlib.sha256(b"something else").digest())
            with pytest.raises(ChecksumMismatch):
                await tus.append(
                    session.id, "alice", None, 100_000, wrong, None, _body(data[100_000:200_000])
                )
            with pytest.raises(ClientGone):
                await tus.append(
                    session.id,
                    "alice",
                    None,
                    100_000,
                    None,
                    None,
                    _vanishing_after(data[100_000:300_000]),
                )
            assert (await uploads.get_upload(session.id, None)).offset == 300_000
            await tus.append(session.id, "alice", None, 300_000, None, None, _body(data[300_000:]))
            record = await catalog.get(session.id, "alice")
            assert (record.sha256, record.crc32) == _expected(data)
            assert (store.blob_bytes_read, store.staged_bytes_read) == (0, 0)

    asyncio.run(scenario())
