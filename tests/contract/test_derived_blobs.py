"""Derived blobs (``<file key>.<tag>``, e.g. thumbnails) in every blob store: written, read,
listed, quarantined, restored and deleted like files' blobs, beside them."""

from __future__ import annotations

from pathlib import Path

import pytest

from filebay.errors import BlobNotFound
from filebay.storage.keys import derived_key
from tests.contract.test_blob_store import S3_SERVERS, Backend, Store, collect, put, read_all


@pytest.fixture(params=["local", *S3_SERVERS])
def each_store(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each blob store of the contract (test_blob_store), fresh."""
    kind: str = request.param
    return Backend(kind, tmp_path, None if kind == "local" else request.getfixturevalue(kind))


def test_a_derived_blob_lives_beside_its_file(each_store: Backend) -> None:
    async def scenario(store: Store) -> None:
        key = await put(store, b"the file")
        thumb = derived_key(key, "t64")
        writer = await store.open_writer(thumb)
        await writer.write(b"a thumbnail")
        await writer.commit()
        assert await read_all(store, thumb) == b"a thumbnail"
        assert (await store.stat(thumb)).size == len(b"a thumbnail")
        assert sorted(b.key for b in await collect(store.iter_blobs())) == sorted([key, thumb])

        await store.quarantine(thumb)
        assert [b.key for b in await collect(store.iter_quarantined())] == [thumb]
        with pytest.raises(BlobNotFound):
            await store.stat(thumb)
        await store.restore_quarantined(thumb)
        assert await read_all(store, thumb) == b"a thumbnail"

        await store.delete(thumb)
        with pytest.raises(BlobNotFound):
            await store.stat(thumb)
        assert await read_all(store, key) == b"the file"  # the file is untouched

    each_store.run(scenario)


def test_an_empty_derived_blob_is_kept(each_store: Backend) -> None:
    # Thumbnails keep "this file has none" as an empty blob.
    async def scenario(store: Store) -> None:
        marker = derived_key(await put(store, b"x"), "t256")
        writer = await store.open_writer(marker)
        await writer.commit()
        assert (await store.stat(marker)).size == 0
        assert await read_all(store, marker) == b""

    each_store.run(scenario)


@pytest.mark.parametrize("key", ["../etc/passwd", "0" * 32 + ".T1", "0" * 32 + "/x", "abc"])
def test_malformed_keys_are_refused(each_store: Backend, key: str) -> None:
    async def scenario(store: Store) -> None:
        with pytest.raises(BlobNotFound):
            await store.stat(key)
        with pytest.raises(BlobNotFound):
            await store.open_writer(key)

    each_store.run(scenario)
