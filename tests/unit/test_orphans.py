"""filebay.orphans: the deployment identity, the guard and the quarantine, for fsck and the
sweeper alike (a wrong or empty database must never delete the blobs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filebay.catalog.files import NewFile
from filebay.catalog.sql.deployment import SqlDeployment
from filebay.catalog.sql.files import SqlCatalog
from filebay.config import Settings
from filebay.fsck import run_fsck
from filebay.ids import new_id
from filebay.orphans import (
    GUARD_FLOOR,
    OrphanPass,
    establish_identity,
    read_identity,
    restore_named,
    scan_orphans,
)
from filebay.storage.local import LocalBlobStore
from filebay.sweeper import sweep_once
from filebay.wiring import open_local

LATER = datetime.now(UTC) + timedelta(hours=2)
NO_TIME = timedelta(0)


class Side:
    """A SQL catalog (its own SQLite file) and what it says about the deployment."""

    def __init__(self, catalog: SqlCatalog) -> None:
        self.catalog = catalog
        self.deployment = SqlDeployment(catalog.engine)

    @classmethod
    async def open(cls, path: Path) -> Side:
        return cls(await SqlCatalog.open(f"sqlite+aiosqlite:///{path}"))

    async def record(self, key: str) -> None:
        await self.catalog.add(
            NewFile(key, "admin", f"{key[:6]}.txt", 1, "text/plain", "0" * 64, key)
        )


async def blob(store: LocalBlobStore) -> str:
    key = new_id()
    writer = await store.open_writer(key)
    await writer.write(b"x")
    await writer.commit()
    return key


async def files(side: Side, store: LocalBlobStore, count: int) -> list[str]:
    keys = []
    for _ in range(count):
        keys.append(await blob(store))
        await side.record(keys[-1])
    return keys


async def live(store: LocalBlobStore) -> set[str]:
    return {stat.key async for stat in store.iter_blobs()}


async def held(store: LocalBlobStore) -> set[str]:
    return {stat.key async for stat in store.iter_quarantined()}


async def sweep(
    side: Side, store: LocalBlobStore, quarantine_for: timedelta = NO_TIME
) -> OrphanPass:
    return await scan_orphans(
        side.deployment,
        store,
        repair=True,
        grace=NO_TIME,
        quarantine_for=quarantine_for,
        ratio=0.5,
        now=LATER,
    )


Scenario = Callable[[Path, LocalBlobStore], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario) -> None:
    asyncio.run(scenario(tmp_path, LocalBlobStore(tmp_path / "data")))


def test_a_first_start_writes_one_identity_to_both_sides(tmp_path: Path) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        side = await Side.open(root / "a.db")
        try:
            identity = await establish_identity(side.deployment, store)
            assert identity.ok and identity.problem is None
            assert (await establish_identity(side.deployment, store)) == identity
            assert (store.root / ".filebay-deployment").read_text().strip() == identity.catalog
        finally:
            await side.catalog.close()

    run(tmp_path, scenario)


def test_an_upgrade_from_a_release_without_identities_adopts_one_without_alarm(
    tmp_path: Path,
) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        side = await Side.open(root / "a.db")
        try:
            kept = await files(side, store, 5)
            orphan = await blob(store)  # a crash leftover of the old release
            identity = await establish_identity(side.deployment, store)
            assert identity.ok
            found = await sweep(side, store, timedelta(days=7))
            assert found.refused is None and found.quarantined == [orphan]
            assert await live(store) == set(kept)
        finally:
            await side.catalog.close()

    run(tmp_path, scenario)


def test_an_empty_database_beside_a_used_store_moves_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        right = await Side.open(root / "right.db")
        wrong = await Side.open(root / "wrong.db")
        try:
            assert (await establish_identity(right.deployment, store)).ok
            keys = set(await files(right, store, 12))

            identity = await establish_identity(wrong.deployment, store)  # writes nothing
            assert not identity.ok and identity.catalog is None
            assert "deployment identity mismatch" in (identity.problem or "")
            for _ in range(3):
                found = await sweep(wrong, store)
                assert found.refused is not None and "mismatch" in found.refused
                assert {b.key for b in found.orphans} == keys  # what it would have taken
            assert await live(store) == keys and await held(store) == set()
            assert await wrong.deployment.identity() is None

            report = await run_fsck(
                wrong.catalog, store, repair=True, grace=NO_TIME, quarantine_for=NO_TIME, now=LATER
            )
            assert not report.clean
            assert [f.kind for f in report.findings if f.kind == "refused"] == ["refused"]
            assert all(not f.repaired for f in report.findings)
            assert await live(store) == keys
        finally:
            await right.catalog.close()
            await wrong.catalog.close()

    run(tmp_path, scenario)


def test_another_deployments_catalog_moves_and_deletes_nothing(tmp_path: Path) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        ours = await Side.open(root / "ours.db")
        theirs = await Side.open(root / "theirs.db")
        other_store = LocalBlobStore(root / "other")
        try:
            assert (await establish_identity(ours.deployment, store)).ok
            assert (await establish_identity(theirs.deployment, other_store)).ok
            keys = set(await files(ours, store, 3))
            await files(theirs, other_store, 3)
            identity = await establish_identity(theirs.deployment, store)
            assert identity.catalog != identity.store
            assert f"deployment {identity.catalog}" in (identity.problem or "")
            found = await sweep(theirs, store)
            assert found.refused == identity.problem and found.quarantined == []
            assert await live(store) == keys
        finally:
            await ours.catalog.close()
            await theirs.catalog.close()

    run(tmp_path, scenario)


def test_a_catalog_far_smaller_than_the_store_sweeps_nothing(tmp_path: Path) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        side = await Side.open(root / "a.db")
        try:
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
        finally:
            await side.catalog.close()

    run(tmp_path, scenario)


def test_a_few_orphans_are_swept_whatever_the_ratio(tmp_path: Path) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        side = await Side.open(root / "a.db")
        try:
            assert (await establish_identity(side.deployment, store)).ok
            kept = await files(side, store, 1)
            orphans = {await blob(store) for _ in range(GUARD_FLOOR)}
            found = await sweep(side, store)
            assert found.refused is None and set(found.quarantined) == orphans
            assert await live(store) == set(kept)
        finally:
            await side.catalog.close()

    run(tmp_path, scenario)


def test_an_orphan_is_quarantined_then_deleted_and_a_restored_record_brings_it_back(
    tmp_path: Path,
) -> None:
    async def scenario(root: Path, store: LocalBlobStore) -> None:
        side = await Side.open(root / "a.db")
        try:
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
        finally:
            await side.catalog.close()

    run(tmp_path, scenario)


def test_the_sweeper_quarantines_through_the_same_rule_and_refuses_a_wrong_database(
    tmp_path: Path,
) -> None:
    async def scenario(root: Path, _store: LocalBlobStore) -> None:
        settings = Settings(
            data_dir=root / "data",
            admin_password="admin-password-1",
            temp_grace_seconds=0,
            orphan_quarantine_seconds=3600,
        )
        services = await open_local(settings, signs=True)
        try:
            store = services.store
            assert isinstance(store, LocalBlobStore)
            assert isinstance(services.catalog, SqlCatalog)
            side = Side(services.catalog)
            assert (await read_identity(side.deployment, store)).ok  # written at start
            kept = await files(side, store, 3)
            orphan = await blob(store)
            removed = await sweep_once(services, orphans=True)
            assert removed["orphan_blob"] == 1
            assert await held(store) == {orphan} and await live(store) == set(kept)
        finally:
            await services.close()

        wrong = settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{root / 'wrong.db'}"}
        )
        services = await open_local(wrong, signs=True)
        try:
            for _ in range(3):
                removed = await sweep_once(services, orphans=True)
                assert removed["orphan_blob"] == removed["quarantine_expired"] == 0
            assert isinstance(services.store, LocalBlobStore)
            assert await live(services.store) == set(kept)
            assert await held(services.store) == {orphan}
        finally:
            await services.close()

    run(tmp_path, scenario)
