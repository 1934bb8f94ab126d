"""filebay.storage.local: atomic publish, ranged reads, idempotent delete, sweeping."""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from filebay.errors import BlobNotFound, StorageFull
from filebay.ids import new_id
from filebay.storage import local
from filebay.storage.base import BlobStat, Sweepable
from filebay.storage.local import LocalBlobStore, LocalBlobWriter


async def read_all(
    store: LocalBlobStore, key: str, start: int = 0, end: int | None = None
) -> bytes:
    chunks: AsyncIterator[bytes] = store.read(key, start, end)
    return b"".join([chunk async for chunk in chunks])


async def collect(stats: AsyncIterator[BlobStat]) -> list[BlobStat]:
    return [stat async for stat in stats]


async def put(store: LocalBlobStore, data: bytes) -> str:
    return await put_key(store, new_id(), data)


async def put_key(store: LocalBlobStore, key: str, data: bytes) -> str:
    writer = await store.open_writer(key)
    await writer.write(data)
    await writer.commit()
    return key


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "data")


def test_local_store_has_the_sweep_power(store: LocalBlobStore) -> None:
    assert isinstance(store, Sweepable)


def test_nothing_is_visible_before_commit_and_everything_after(store: LocalBlobStore) -> None:
    data = os.urandom(3 * local.READ_CHUNK + 123)
    key = new_id()

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(data[:1000])
        await writer.write(memoryview(data)[1000:])
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        with pytest.raises(BlobNotFound):
            await read_all(store, key)
        assert await collect(store.iter_blobs()) == []
        assert [t.size for t in await collect(store.iter_temps())] == [len(data)]
        await writer.commit()
        assert await read_all(store, key) == data
        stat = await store.stat(key)
        assert stat.key == key and stat.size == len(data)
        assert stat.modified_at.tzinfo is not None
        assert [b.key for b in await collect(store.iter_blobs())] == [key]
        assert await collect(store.iter_temps()) == []

    asyncio.run(scenario())


def test_the_temp_file_is_on_the_same_filesystem_and_private(store: LocalBlobStore) -> None:
    path = store.path_for(asyncio.run(put(store, b"secret")))
    assert path.stat().st_dev == store.temp_dir.stat().st_dev
    assert path.stat().st_mode & 0o077 == 0
    assert path.is_relative_to(store.blob_dir)


def test_an_empty_blob_is_a_blob(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        key = await put(store, b"")
        assert await read_all(store, key) == b""
        assert (await store.stat(key)).size == 0

    asyncio.run(scenario())


def test_abort_leaves_nothing_and_may_be_repeated(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        key = new_id()
        writer = await store.open_writer(key)
        await writer.write(b"partial")
        await writer.abort()
        await writer.abort()
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        assert files_under(store.root) == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, None), (0, 0), (5, 10), (0, 1), (2 * 1024 * 1024 - 1, None), (7, 10**12), (10**9, None)],
)
def test_read_returns_the_asked_range(store: LocalBlobStore, start: int, end: int | None) -> None:
    data = os.urandom(2 * 1024 * 1024 + 17)

    async def scenario() -> None:
        key = await put(store, data)
        assert await read_all(store, key, start, end) == data[start:end]

    asyncio.run(scenario())


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=300),
    start=st.integers(min_value=0, max_value=320),
    length=st.none() | st.integers(min_value=0, max_value=320),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_any_range_reads_the_slice_whatever_the_chunk_size(
    data: bytes, start: int, length: int | None, chunk: int
) -> None:
    end = None if length is None else start + length
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setattr(local, "READ_CHUNK", chunk)
        store = LocalBlobStore(Path(tmp))

        async def scenario() -> bytes:
            return await read_all(store, await put(store, data), start, end)

        assert asyncio.run(scenario()) == data[start:end]


@pytest.mark.parametrize("key", [new_id(), "not-an-id", "../../etc/passwd", "A" * 32, ""])
def test_reading_an_absent_or_malformed_key_is_blob_not_found(
    store: LocalBlobStore, key: str
) -> None:
    with pytest.raises(BlobNotFound):
        asyncio.run(read_all(store, key))
    with pytest.raises(BlobNotFound):
        asyncio.run(store.stat(key))


def test_delete_is_idempotent(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        key = await put(store, b"bye")
        await store.delete(key)
        await store.delete(key)
        await store.delete(new_id())  # never existed
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        assert await collect(store.iter_blobs()) == []

    asyncio.run(scenario())


def test_delete_keeps_other_blobs(store: LocalBlobStore) -> None:
    async def scenario() -> None:
        keep, drop = await put(store, b"keep"), await put(store, b"drop")
        await store.delete(drop)
        assert await read_all(store, keep) == b"keep"
        assert [b.key for b in await collect(store.iter_blobs())] == [keep]

    asyncio.run(scenario())


def test_iter_blobs_lists_every_published_blob_and_ignores_strangers(
    store: LocalBlobStore,
) -> None:
    async def scenario() -> None:
        keys = {await put(store, bytes([n]) * n) for n in range(5)}
        (store.blob_dir / "README").write_text("not a blob")
        blobs = await collect(store.iter_blobs())
        assert {b.key for b in blobs} == keys
        assert sorted(b.size for b in blobs) == list(range(5))

    asyncio.run(scenario())


def test_iter_temps_and_remove_temp(store: LocalBlobStore, tmp_path: Path) -> None:
    victim = tmp_path / "data" / "victim"
    victim.write_text("must survive")

    async def scenario() -> None:
        writer = await store.open_writer(new_id())
        # Big enough to reach the temp file (smaller writes are held until the commit).
        payload = b"x" * LocalBlobWriter.HOLD_BYTES
        await writer.write(payload)
        temps = await collect(store.iter_temps())
        assert [t.size for t in temps] == [len(payload)]
        for bad in ("../victim", "..", ".", "/etc/passwd"):
            await store.remove_temp(bad)
        await store.remove_temp(temps[0].key)
        await store.remove_temp(temps[0].key)  # already gone: fine
        assert await collect(store.iter_temps()) == []
        await writer.abort()

    asyncio.run(scenario())
    assert victim.read_text() == "must survive"


def test_ping_succeeds_and_leaves_no_probe(store: LocalBlobStore) -> None:
    asyncio.run(store.ping())
    assert files_under(store.root) == []


def _disk_full(*_args: Any) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_on_write_is_storage_full_and_leaves_no_temp(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        writer = await store.open_writer(new_id())
        await writer.write(b"fits")
        monkeypatch.setattr(os, "write", _disk_full)
        with pytest.raises(StorageFull) as info:
            await writer.write(b"does not fit" * LocalBlobWriter.HOLD_BYTES)
        monkeypatch.undo()
        assert info.value.status == 507
        await writer.abort()
        assert files_under(store.root) == []

    asyncio.run(scenario())


def test_a_full_disk_for_held_bytes_is_storage_full_at_commit(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_id()

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(b"small")  # held in memory: the disk is first touched at commit
        monkeypatch.setattr(os, "write", _disk_full)
        with pytest.raises(StorageFull):
            await writer.commit()
        monkeypatch.undo()
        await writer.abort()
        assert files_under(store.root) == []

    asyncio.run(scenario())


def test_a_full_disk_on_commit_is_storage_full_and_publishes_nothing(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_id()

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(b"data")
        monkeypatch.setattr(os, "fsync", _disk_full)
        with pytest.raises(StorageFull):
            await writer.commit()
        monkeypatch.undo()
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        assert files_under(store.root) == []

    asyncio.run(scenario())


def test_no_space_for_a_new_temp_file_is_storage_full(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> None:
        writer = await store.open_writer(new_id())
        await writer.write(b"small")
        # The temp file is created by the first write that reaches the disk (here: commit).
        monkeypatch.setattr(os, "open", _disk_full)
        with pytest.raises(StorageFull):
            await writer.commit()
        monkeypatch.undo()

    asyncio.run(scenario())
    assert files_under(store.root) == []


def test_small_writes_are_held_until_commit_and_then_whole(store: LocalBlobStore) -> None:
    key = new_id()

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(b"hello ")
        await writer.write(b"world")
        assert await collect(store.iter_temps()) == []  # held in memory: no temp file yet
        await writer.commit()

    asyncio.run(scenario())
    assert store.path_for(key).read_bytes() == b"hello world"
    assert files_under(store.temp_dir) == []


def test_held_bytes_go_first_when_a_big_write_follows(store: LocalBlobStore) -> None:
    key = new_id()
    big = os.urandom(LocalBlobWriter.HOLD_BYTES)

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(b"head")
        await writer.write(big)
        await writer.write(b"tail")
        await writer.commit()

    asyncio.run(scenario())
    assert store.path_for(key).read_bytes() == b"head" + big + b"tail"


def _record_dir_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    synced: list[Path] = []
    real = local._fsync_dir

    def spy(path: Path) -> None:
        synced.append(Path(path))
        real(path)

    monkeypatch.setattr(local, "_fsync_dir", spy)
    return synced


def test_a_new_blob_directory_is_made_durable_in_its_parents(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _record_dir_fsyncs(monkeypatch)
    first = asyncio.run(put(store, b"first"))
    shard = store.path_for(first).parent
    # blobs/ab/cd was created: the names of cd (in ab) and ab (in blobs) must be durable
    # before the blob is, then the blob's own directory entry.
    assert synced == [store.blob_dir, shard.parent, shard]
    synced.clear()
    neighbour = first[:4] + new_id()[4:]
    asyncio.run(put_key(store, neighbour, b"second"))
    assert synced == [shard]  # the directory exists: only the blob's entry is synced
    assert store.path_for(neighbour).read_bytes() == b"second"


def test_a_staged_upload_published_into_a_new_directory_syncs_its_parents(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_id()

    async def scenario() -> None:
        await store.create_staged(key)
        writer = await store.append_staged(key, 0)
        await writer.write(b"resumed")
        await writer.sync()
        await writer.close()
        synced.clear()
        await store.publish_staged(key)

    synced = _record_dir_fsyncs(monkeypatch)
    asyncio.run(scenario())
    shard = store.path_for(key).parent
    assert synced == [store.blob_dir, shard.parent, shard, store.staging_dir]
    assert store.path_for(key).read_bytes() == b"resumed"


def test_publishing_a_temp_file_that_vanished_is_blob_not_found(store: LocalBlobStore) -> None:
    key = new_id()

    async def scenario() -> None:
        writer = await store.open_writer(key)
        await writer.write(os.urandom(LocalBlobWriter.HOLD_BYTES))  # reaches the temp file
        (temp,) = files_under(store.temp_dir)
        temp.unlink()  # e.g. removed by hand while the upload ran
        with pytest.raises(BlobNotFound):
            await writer.commit()

    asyncio.run(scenario())
    assert not store.path_for(key).exists()
