"""Thumbnails (derived blobs) under the orphan rule: kept while their file has a record, swept
once it has none, never counted as files by the guard; and ``filebay fsck`` reports none."""

from __future__ import annotations

from pathlib import Path

from filebay.previews.thumbnails import SIZES, thumbnail_key
from filebay.storage.local import LocalBlobStore
from filebay.upkeep.identity import establish_identity
from filebay.upkeep.orphans import restore_named
from tests.unit.upkeep.support import LATER, Side, files, fsck, held, live, on_one_side, sweep


async def thumbnails_of(store: LocalBlobStore, key: str) -> set[str]:
    made = set()
    for size in SIZES:
        writer = await store.open_writer(thumbnail_key(key, size))
        await writer.write(b"webp")
        await writer.commit()
        made.add(thumbnail_key(key, size))
    return made


def test_thumbnails_live_and_go_with_their_file(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        kept, gone = await files(side, store, 2)
        kept_thumbs = await thumbnails_of(store, kept)
        gone_thumbs = await thumbnails_of(store, gone)
        await side.catalog.delete(gone, None)  # the record goes; its blobs are left behind

        found = await sweep(side, store)
        assert found.refused is None
        assert {b.key for b in found.orphans} == {gone, *gone_thumbs}
        assert await live(store) == {kept, *kept_thumbs}

        await side.record(gone)  # a restored catalog names the file again: all come back
        assert set(await restore_named(side.deployment, store)) == {gone, *gone_thumbs}
        assert await held(store) == set()

    on_one_side(tmp_path, scenario)


def test_the_guard_counts_files_not_thumbnails(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        # Every file with three thumbnails: four blobs a record, well past the guard's ratio
        # if thumbnails counted as files.
        for key in await files(side, store, 20):
            await thumbnails_of(store, key)
        found = await sweep(side, store)
        assert found.refused is None and found.orphans == []
        assert len(await live(store)) == 80

    on_one_side(tmp_path, scenario)


def test_fsck_reports_no_thumbnail_of_a_live_file(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        (key,) = await files(side, store, 1)
        await thumbnails_of(store, key)
        report = await fsck(side.catalog, store, now=LATER)
        assert [f for f in report.findings if f.kind == "orphan_blob"] == []

        await side.catalog.delete(key, None)
        report = await fsck(side.catalog, store, now=LATER)
        orphans = {f.key for f in report.findings if f.kind == "orphan_blob"}
        assert orphans == {key, *(thumbnail_key(key, size) for size in SIZES)}

    on_one_side(tmp_path, scenario)
