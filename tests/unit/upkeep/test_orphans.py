"""filebay.upkeep.orphans: the guard and the quarantine, for fsck and the sweeper alike."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from filebay.storage.local import LocalBlobStore
from filebay.upkeep.identity import establish_identity
from filebay.upkeep.orphans import GUARD_FLOOR, restore_named
from tests.unit.upkeep.support import NO_TIME, Side, blob, files, held, live, on_one_side, sweep


def test_a_catalog_far_smaller_than_the_store_sweeps_nothing(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        kept = await files(side, store, 2)
        for _ in range(20):  # say, a restore of an old dump
            await blob(store)
        found = await sweep(side, store)
        assert found.refused is not None and "2 records for 22 blobs" in found.refused
        assert len(await live(store)) == 22 and await held(store) == set()

        # Once the catalog holds half as many records as the store has blobs, they go.
        await files(side, store, 18)
        found = await sweep(side, store)
        assert found.refused is None and len(found.quarantined) == 20
        assert set(kept) <= await live(store)

    on_one_side(tmp_path, scenario)


def test_a_few_orphans_are_swept_whatever_the_ratio(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        kept = await files(side, store, 1)
        orphans = {await blob(store) for _ in range(GUARD_FLOOR)}
        found = await sweep(side, store)
        assert found.refused is None and set(found.quarantined) == orphans
        assert await live(store) == set(kept)

    on_one_side(tmp_path, scenario)


def test_an_orphan_is_quarantined_then_deleted_and_a_restored_record_brings_it_back(
    tmp_path: Path,
) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        assert (await establish_identity(side.deployment, store)).ok
        await files(side, store, 3)
        lost, restored = await blob(store), await blob(store)
        found = await sweep(side, store, timedelta(days=7))
        assert sorted(found.quarantined) == sorted([lost, restored])
        assert await held(store) == {lost, restored}
        assert (await sweep(side, store, timedelta(days=7))).deleted == []  # still waiting

        await side.record(restored)  # the catalog is restored: the record is back
        assert await restore_named(side.deployment, store) == [restored]
        assert restored in await live(store)

        found = await sweep(side, store, NO_TIME)  # the quarantine is over
        assert found.deleted == [lost]
        assert await held(store) == set() and lost not in await live(store)

    on_one_side(tmp_path, scenario)
