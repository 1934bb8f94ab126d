"""The blob store contract, run against LocalBlobStore and against S3BlobStore over HTTP, on
a real S3 server (SeaweedFS) and on moto.

One-shot writes (atomic commit, abort), ranged reads, stat, delete, sweeping, and the staging
area that tus uploads grow in (chunks below S3's 5 MiB part minimum and above a part, a chunk
truncated after a failed checksum, a sync whose offset the catalog never recorded)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from filebay.errors import BlobNotFound, StorageUnavailable
from filebay.ids import new_id
from filebay.storage.base import BlobStat, Identified, Quarantining, Staging, Sweepable
from filebay.storage.local import LocalBlobStore
from filebay.storage.s3 import quarantine as s3_quarantine
from filebay.storage.s3.client import MIN_PART
from filebay.storage.s3.store import S3BlobStore
from tests.e2e.s3.moto import S3Server, multipart_uploads, new_bucket, object_keys, s3_client

PART = MIN_PART  # the S3 store's part size in these tests: 5 MiB, S3's smallest
Store = LocalBlobStore | S3BlobStore
Scenario = Callable[[Store], Awaitable[None]]
#: The S3 servers, by the name of their session fixture (tests/conftest.py).
S3_SERVERS = ["seaweed", "moto"]


class Backend:
    """Opens a fresh store of one kind and looks at what it left behind."""

    def __init__(self, kind: str, tmp_path: Path, s3: S3Server | None) -> None:
        self.kind = kind
        self.root = tmp_path / "data"
        self.s3 = s3
        self.bucket = new_bucket()

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Store]:
        if self.s3 is None:
            yield LocalBlobStore(self.root)
            return
        store = S3BlobStore(self.bucket, endpoint=self.s3.url, region="us-east-1", part_size=PART)
        await store.start()
        try:
            await store.ensure_bucket()
            yield store
        finally:
            await store.close()

    def run(self, scenario: Scenario) -> None:
        async def main() -> None:
            async with self.open() as store:
                await scenario(store)

        asyncio.run(main())

    def unfinished_writes(self) -> list[str]:
        """Incomplete multipart uploads (S3) or temp files (local): what costs and leaks."""
        if self.s3 is None:
            return sorted(p.name for p in (self.root / "tmp").iterdir())
        return multipart_uploads(s3_client(self.s3.url), self.bucket)

    def staging_leftovers(self) -> list[str]:
        if self.s3 is None:
            return sorted(p.name for p in (self.root / "staging").iterdir())
        return object_keys(s3_client(self.s3.url), self.bucket, "staging/")


@pytest.fixture(params=["local", *S3_SERVERS])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    kind: str = request.param
    server = None if kind == "local" else request.getfixturevalue(kind)
    return Backend(kind, tmp_path, server)


@pytest.fixture(params=S3_SERVERS)
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    server: S3Server = request.getfixturevalue(request.param)
    return server


async def read_all(store: Store, key: str, start: int = 0, end: int | None = None) -> bytes:
    chunks: AsyncIterator[bytes] = store.read(key, start, end)
    return b"".join([chunk async for chunk in chunks])


async def collect(stats: AsyncIterator[BlobStat]) -> list[BlobStat]:
    return [stat async for stat in stats]


async def put(store: Store, data: bytes, step: int = 1024 * 1024) -> str:
    key = new_id()
    writer = await store.open_writer(key)
    for at in range(0, len(data), step):
        await writer.write(memoryview(data)[at : at + step])
    await writer.commit()
    return key


def test_both_stores_have_the_optional_powers(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert isinstance(store, Sweepable)
        assert isinstance(store, Staging)
        await store.ping()

    backend.run(scenario)


# --- one-shot writes -----------------------------------------------------------------------


def test_a_blob_is_invisible_until_commit_then_whole(backend: Backend) -> None:
    data = os.urandom(2 * PART + 12345)  # two full parts and a short last one
    key = new_id()

    async def scenario(store: Store) -> None:
        writer = await store.open_writer(key)
        for at in range(0, len(data), 1024 * 1024):
            await writer.write(data[at : at + 1024 * 1024])
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        with pytest.raises(BlobNotFound):
            await read_all(store, key)
        assert await collect(store.iter_blobs()) == []
        assert len(await collect(store.iter_temps())) == 1
        await writer.commit()
        assert await read_all(store, key) == data
        stat = await store.stat(key)
        assert (stat.key, stat.size) == (key, len(data))
        assert stat.modified_at.tzinfo is not None
        assert [b.key for b in await collect(store.iter_blobs())] == [key]
        assert await collect(store.iter_temps()) == []

    backend.run(scenario)
    assert backend.unfinished_writes() == []


@pytest.mark.parametrize("size", [0, 1, 4096, PART - 1, PART, PART + 1])
def test_sizes_around_a_part_round_trip(backend: Backend, size: int) -> None:
    data = os.urandom(size)

    async def scenario(store: Store) -> None:
        key = await put(store, data)
        assert await read_all(store, key) == data
        assert (await store.stat(key)).size == size

    backend.run(scenario)
    assert backend.unfinished_writes() == []


def test_abort_leaves_nothing_not_even_an_incomplete_multipart_upload(backend: Backend) -> None:
    key = new_id()

    async def scenario(store: Store) -> None:
        writer = await store.open_writer(key)
        await writer.write(os.urandom(PART + 1000))  # one part is out: a multipart upload
        assert len(backend.unfinished_writes()) == 1
        await writer.abort()
        await writer.abort()  # twice is fine
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        assert await collect(store.iter_temps()) == []

    backend.run(scenario)
    assert backend.unfinished_writes() == []


def test_ranged_reads(backend: Backend) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)

    async def scenario(store: Store) -> None:
        key = await put(store, data)
        size = len(data)
        for start, end in [
            (0, 1),
            (0, size),
            (5, 6),
            (1024 * 1024 - 1, 1024 * 1024 + 1),  # across a read chunk
            (size - 1, size),
            (123, None),
            (size - 10, None),
            (2_000_000, 3_000_000),
        ]:
            assert await read_all(store, key, start, end) == data[start:end], (start, end)
        assert await read_all(store, key, 10, 10) == b""

    backend.run(scenario)


def test_stat_read_and_delete_of_missing_and_present_keys(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        missing = new_id()
        with pytest.raises(BlobNotFound):
            await store.stat(missing)
        with pytest.raises(BlobNotFound):
            await read_all(store, missing)
        await store.delete(missing)  # absent is not an error
        with pytest.raises(BlobNotFound):  # never a path or an S3 key from outside
            await store.stat("../../etc/passwd")
        key = await put(store, b"delete me")
        await store.delete(key)
        await store.delete(key)
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        assert await collect(store.iter_blobs()) == []

    backend.run(scenario)


def test_iter_blobs_lists_every_published_blob(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        keys = {await put(store, os.urandom(n)) for n in (0, 10, 70_000)}
        unfinished = await store.open_writer(new_id())
        await unfinished.write(b"not yet")
        listed = await collect(store.iter_blobs())
        assert {b.key for b in listed} == keys
        assert sorted(b.size for b in listed) == [0, 10, 70_000]
        await unfinished.abort()

    backend.run(scenario)


def test_iter_temps_and_remove_temp_clean_up_abandoned_writes(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        # A writer that died without abort (a killed process): only the sweep finds it.
        writer = await store.open_writer(new_id())
        await writer.write(os.urandom(PART + 10))
        staged = new_id()
        await store.create_staged(staged)  # tus uploads are not temps: they have sessions
        temps = await collect(store.iter_temps())
        assert len(temps) == 1
        await store.remove_temp(temps[0].key)
        await store.remove_temp(temps[0].key)  # already gone: fine
        assert await collect(store.iter_temps()) == []
        assert [s.key for s in await collect(store.iter_staged())] == [staged]
        await store.delete_staged(staged)

    backend.run(scenario)
    assert backend.unfinished_writes() == []


# --- staging (tus) -------------------------------------------------------------------------


async def append(store: Store, key: str, offset: int, *chunks: bytes) -> int:
    writer = await store.append_staged(key, offset)
    try:
        for chunk in chunks:
            await writer.write(chunk)
        return await writer.sync()
    finally:
        await writer.close()


def test_staged_upload_grows_in_small_and_large_chunks_then_publishes(backend: Backend) -> None:
    key = new_id()
    small, large, tiny = os.urandom(300_000), os.urandom(PART + 2_000_000), os.urandom(5)

    async def scenario(store: Store) -> None:
        await store.create_staged(key)
        assert await store.staged_size(key) == 0
        assert [s.key for s in await collect(store.iter_staged())] == [key]
        size = await append(store, key, 0, small)  # below S3's part minimum
        assert size == await store.staged_size(key) == len(small)
        # Bigger than a part, written in socket-sized pieces.
        pieces = [large[at : at + 65536] for at in range(0, len(large), 65536)]
        size = await append(store, key, size, *pieces)
        assert size == await store.staged_size(key) == len(small) + len(large)
        size = await append(store, key, size, tiny)
        for _ in range(3):  # several PATCHes below the minimum in a row
            size = await append(store, key, size, tiny)
        with pytest.raises(BlobNotFound):
            await store.stat(key)  # nothing is published before publish_staged
        await store.publish_staged(key)
        assert await read_all(store, key) == small + large + tiny * 4
        assert (await store.stat(key)).size == size
        with pytest.raises(BlobNotFound):
            await store.staged_size(key)
        assert await collect(store.iter_staged()) == []

    backend.run(scenario)
    assert backend.unfinished_writes() == []
    assert backend.staging_leftovers() == []


def test_a_chunk_that_fails_its_checksum_is_truncated_away(backend: Backend) -> None:
    key = new_id()
    first, bad, good = os.urandom(1_000_000), os.urandom(PART + 500_000), os.urandom(700_000)

    async def scenario(store: Store) -> None:
        await store.create_staged(key)
        offset = await append(store, key, 0, first)
        writer = await store.append_staged(key, offset)
        await writer.write(bad)  # a part went out to S3 while it arrived
        await writer.truncate(offset)  # then its checksum did not match
        await writer.write(good)
        assert await writer.sync() == len(first) + len(good)
        await writer.close()
        await store.publish_staged(key)
        assert await read_all(store, key) == first + good

    backend.run(scenario)
    assert backend.unfinished_writes() == []


def test_bytes_past_the_acknowledged_offset_are_dropped(backend: Backend) -> None:
    """A request wrote (and even synced) bytes, but the catalog never advanced the offset
    (the metadata service was down): the next request starts from the recorded offset."""
    key = new_id()
    head, lost, tail_only, rest = (os.urandom(n) for n in (1_500_000, 2 * PART + 3, 1000, 400_000))

    async def scenario(store: Store) -> None:
        await store.create_staged(key)
        acked = await append(store, key, 0, head)
        # Synced, never acknowledged: whole parts went out past the recorded offset.
        assert await append(store, key, acked, lost) == acked + len(lost)
        # The retry starts from the recorded offset; its sync is not acknowledged either.
        assert await append(store, key, acked, tail_only) == acked + len(tail_only)
        # Neither is the next one's, and it too starts from the recorded offset.
        assert await append(store, key, acked, lost) == acked + len(lost)
        # A request that died before its sync: the next starts where the last one began.
        writer = await store.append_staged(key, acked)
        await writer.write(os.urandom(PART + 7))
        await writer.close()
        size = await append(store, key, acked, rest)
        assert size == await store.staged_size(key) == acked + len(rest)
        await store.publish_staged(key)
        assert await read_all(store, key) == head + rest

    backend.run(scenario)
    assert backend.unfinished_writes() == []
    assert backend.staging_leftovers() == []


def test_an_empty_staged_upload_publishes_an_empty_blob(backend: Backend) -> None:
    key = new_id()

    async def scenario(store: Store) -> None:
        await store.create_staged(key)
        await store.publish_staged(key)
        assert await read_all(store, key) == b""
        assert (await store.stat(key)).size == 0

    backend.run(scenario)


def test_delete_staged_removes_the_bytes_and_the_multipart_upload(backend: Backend) -> None:
    key = new_id()

    async def scenario(store: Store) -> None:
        await store.create_staged(key)
        await append(store, key, 0, os.urandom(PART + 100))
        await store.delete_staged(key)
        await store.delete_staged(key)  # twice is fine
        await store.delete_staged(new_id())  # unknown is fine
        with pytest.raises(BlobNotFound):
            await store.staged_size(key)
        with pytest.raises(BlobNotFound):
            await store.append_staged(key, 0)
        assert await collect(store.iter_staged()) == []

    backend.run(scenario)
    assert backend.unfinished_writes() == []
    assert backend.staging_leftovers() == []


# --- S3 only -------------------------------------------------------------------------------


def test_a_prefix_keeps_several_deployments_in_one_bucket(s3_server: S3Server) -> None:
    bucket = new_bucket()

    async def scenario() -> None:
        stores = [
            S3BlobStore(bucket, endpoint=s3_server.url, region="us-east-1", prefix=prefix)
            for prefix in ("team-a", "/team-b/")
        ]
        for store in stores:
            await store.start()
        try:
            await stores[0].ensure_bucket()
            key = await put(stores[0], b"only in a")
            assert [b.key for b in await collect(stores[0].iter_blobs())] == [key]
            assert await collect(stores[1].iter_blobs()) == []
            with pytest.raises(BlobNotFound):
                await stores[1].stat(key)
        finally:
            for store in stores:
                await store.close()

    asyncio.run(scenario())
    assert object_keys(s3_client(s3_server.url), bucket)[0].startswith("team-a/blobs/")


def test_a_missing_bucket_or_a_dead_endpoint_is_unavailable_not_missing(
    s3_server: S3Server, unused_port: int
) -> None:
    async def check(store: S3BlobStore) -> Any:
        await store.start()
        try:
            with pytest.raises(StorageUnavailable) as ping:
                await store.ping()
            with pytest.raises(StorageUnavailable):
                await put(store, b"x")
            return ping.value.detail
        finally:
            await store.close()

    missing = S3BlobStore(new_bucket(), endpoint=s3_server.url, region="us-east-1")
    detail = asyncio.run(check(missing))
    assert "does not exist" in detail
    dead = S3BlobStore(new_bucket(), endpoint=f"http://127.0.0.1:{unused_port}", region="us-east-1")
    assert "unreachable" in asyncio.run(check(dead))


@pytest.fixture
def unused_port() -> int:
    from tests.harness.servers import free_port

    return free_port()


# --- the deployment identity and the quarantine (filebay.upkeep) -----------------------------


def test_the_deployment_identity_is_written_once(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert isinstance(store, Identified)
        assert await store.read_deployment() is None
        first, second = new_id(), new_id()
        assert await store.write_deployment(first) == first
        assert await store.write_deployment(second) == first  # the first one stands
        assert await store.read_deployment() == first
        assert await collect(store.iter_blobs()) == []  # not a blob
        assert await collect(store.iter_temps()) == []

    backend.run(scenario)


def test_a_quarantined_blob_is_moved_aside_restored_and_deleted(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Objects past CopyObject's limit are copied in parts: the same path, with small parts.
    monkeypatch.setattr(s3_quarantine, "COPY_LIMIT", PART)
    monkeypatch.setattr(s3_quarantine, "COPY_PART", PART)
    big = os.urandom(2 * PART + 7)

    async def scenario(store: Store) -> None:
        assert isinstance(store, Quarantining)
        small_key, big_key = await put(store, b"an orphan"), await put(store, big)
        before = datetime.now(UTC) - timedelta(seconds=5)
        for key in (small_key, big_key):
            await store.quarantine(key)
            with pytest.raises(BlobNotFound):
                await store.stat(key)
        assert await collect(store.iter_blobs()) == []
        held = {stat.key: stat for stat in await collect(store.iter_quarantined())}
        assert set(held) == {small_key, big_key}
        assert held[big_key].size == len(big)
        assert all(stat.modified_at >= before for stat in held.values())  # when moved aside

        await store.restore_quarantined(big_key)
        assert await read_all(store, big_key) == big
        await store.delete_quarantined(small_key)
        assert await collect(store.iter_quarantined()) == []
        # Absent is not an error, either way.
        await store.quarantine(small_key)
        await store.restore_quarantined(small_key)
        await store.delete_quarantined(small_key)
        assert [b.key for b in await collect(store.iter_blobs())] == [big_key]

    backend.run(scenario)
    assert backend.unfinished_writes() == []
