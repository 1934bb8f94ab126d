"""filebay.upkeep.identity: the deployment identity that the catalog and the blob store share,
and the orphan rule and fsck refusing a catalog that is not the store's (a wrong or empty
database must never delete the blobs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from filebay.storage.local import LocalBlobStore
from filebay.upkeep.identity import establish_identity
from tests.unit.upkeep.support import (
    LATER,
    NO_TIME,
    Side,
    blob,
    files,
    fsck,
    held,
    live,
    on_one_side,
    sweep,
)

Scenario = Callable[[Path, LocalBlobStore], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario) -> None:
    asyncio.run(scenario(tmp_path, LocalBlobStore(tmp_path / "data")))


def test_a_first_start_writes_one_identity_to_both_sides(tmp_path: Path) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        identity = await establish_identity(side.deployment, store)
        assert identity.ok and identity.problem is None
        assert (await establish_identity(side.deployment, store)) == identity
        assert (store.root / ".filebay-deployment").read_text().strip() == identity.catalog

    on_one_side(tmp_path, scenario)


def test_an_upgrade_from_a_release_without_identities_adopts_one_without_alarm(
    tmp_path: Path,
) -> None:
    async def scenario(side: Side, store: LocalBlobStore) -> None:
        kept = await files(side, store, 5)
        orphan = await blob(store)  # a crash leftover of the old release
        identity = await establish_identity(side.deployment, store)
        assert identity.ok
        found = await sweep(side, store, timedelta(days=7))
        assert found.refused is None and found.quarantined == [orphan]
        assert await live(store) == set(kept)

    on_one_side(tmp_path, scenario)


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

            report = await fsck(
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
