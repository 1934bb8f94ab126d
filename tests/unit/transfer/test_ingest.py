"""filebay.transfer.ingest: count, limit, hash and publish an upload, or leave nothing."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import tempfile
import threading
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filebay.errors import BlobNotFound, StorageFull, TooLarge
from filebay.storage.local import LocalBlobStore
from filebay.transfer import ingest as ingest_module
from filebay.transfer.ingest import BlobIngest, StoredBlob

MIB = 1024 * 1024


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


async def read_all(store: LocalBlobStore, key: str) -> bytes:
    chunks: AsyncIterator[bytes] = store.read(key)
    return b"".join([chunk async for chunk in chunks])


async def ingest_chunks(store: LocalBlobStore, chunks: list[bytes], limit: int) -> StoredBlob:
    ingest = await BlobIngest.start(store, limit)
    try:
        for chunk in chunks:
            await ingest.feed(chunk)
        return await ingest.finish()
    except BaseException:
        await ingest.abort()
        raise


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "data")


def test_size_and_sha256_of_a_multi_batch_upload(store: LocalBlobStore) -> None:
    data = os.urandom(3 * MIB + 12345)
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]

    async def scenario() -> None:
        blob = await ingest_chunks(store, chunks, limit=len(data))
        assert blob.size == len(data)
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        assert blob.crc32 == zlib.crc32(data)
        assert await read_all(store, blob.key) == data
        assert files_under(store.temp_dir) == []

    asyncio.run(scenario())


def test_an_empty_upload_is_stored(store: LocalBlobStore) -> None:
    blob = asyncio.run(ingest_chunks(store, [], limit=0))
    assert (blob.size, blob.sha256, blob.crc32) == (0, hashlib.sha256(b"").hexdigest(), 0)
    assert asyncio.run(read_all(store, blob.key)) == b""


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=50), max_size=12),
    flush=st.integers(min_value=1, max_value=64),
)
def test_any_chunking_and_batch_size_store_the_same_bytes(chunks: list[bytes], flush: int) -> None:
    data = b"".join(chunks)
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "FLUSH_BYTES", flush)
        store = LocalBlobStore(Path(tmp))

        async def scenario() -> bytes:
            blob = await ingest_chunks(store, chunks, limit=len(data))
            assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())
            assert blob.crc32 == zlib.crc32(data)
            return await read_all(store, blob.key)

        assert asyncio.run(scenario()) == data
        assert files_under(store.temp_dir) == []


def test_exactly_the_limit_is_accepted(store: LocalBlobStore) -> None:
    blob = asyncio.run(ingest_chunks(store, [b"12345", b"67890"], limit=10))
    assert blob.size == 10


@pytest.mark.parametrize("flush", [4, MIB])
def test_over_the_limit_is_too_large_and_leaves_nothing(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch, flush: int
) -> None:
    monkeypatch.setattr(ingest_module, "FLUSH_BYTES", flush)
    with pytest.raises(TooLarge) as info:
        asyncio.run(ingest_chunks(store, [b"123456", b"78901"], limit=10))
    assert info.value.status == 413
    assert files_under(store.root) == []


def test_abort_leaves_nothing_and_may_be_repeated(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        ingest = await BlobIngest.start(store, limit=10 * MIB)
        await ingest.feed(os.urandom(2 * MIB))  # one batch is being written while we abort
        await ingest.abort()
        await ingest.abort()
        with pytest.raises(BlobNotFound):
            await store.stat(ingest.key)

    asyncio.run(scenario())
    assert files_under(store.root) == []


def test_abort_after_finish_keeps_the_blob(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        ingest = await BlobIngest.start(store, limit=10)
        await ingest.feed(b"kept")
        blob = await ingest.finish()
        await ingest.abort()
        assert await read_all(store, blob.key) == b"kept"

    asyncio.run(scenario())


class DiskFills:
    """``os.write`` that fails with ENOSPC in worker threads once ``room`` bytes are used."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = os.write

    def __call__(self, fd: int, data: Any) -> int:
        if threading.current_thread() is threading.main_thread():
            return self.real(fd, data)
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real(fd, data)


@pytest.mark.parametrize(
    ("room", "flush"),
    [
        (0, MIB),  # full from the start: fails on finish
        (MIB, MIB),  # fills after the first batch: fails while feeding
        (100, 16),  # small batches, fails on a later one
    ],
)
def test_a_full_disk_is_storage_full_and_leaves_no_temp(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch, room: int, flush: int
) -> None:
    monkeypatch.setattr(ingest_module, "FLUSH_BYTES", flush)
    monkeypatch.setattr(os, "write", DiskFills(room))
    chunks = [os.urandom(64 * 1024) for _ in range(40)]
    with pytest.raises(StorageFull) as info:
        asyncio.run(ingest_chunks(store, chunks, limit=100 * MIB))
    assert info.value.status == 507
    assert files_under(store.root) == []


def test_a_full_disk_leaves_no_temp_even_before_abort(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "write", DiskFills(0))

    async def scenario() -> None:
        ingest = await BlobIngest.start(store, limit=MIB)
        await ingest.feed(b"x" * 100)
        with pytest.raises(StorageFull):
            await ingest.finish()
        assert files_under(store.root) == []
        await ingest.abort()  # still safe afterwards

    asyncio.run(scenario())


@settings(max_examples=200, deadline=None)
@given(
    size=st.one_of(
        st.integers(0, 5000),
        st.sampled_from([2046, 2047, 2048, 4094, 4095, 65535, 65536, 70000]),
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_tail_hashed_in_gil_keeping_pieces_has_the_plain_digest(size: int, seed: int) -> None:
    data = bytearray(seed.to_bytes(4, "big") * (size // 4 + 1))[:size]
    hasher = hashlib.sha256()
    ingest_module._hash_tail(hasher, data)
    assert hasher.hexdigest() == hashlib.sha256(data).hexdigest()
