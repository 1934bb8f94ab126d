"""What the upkeep tests build: SQL catalogs of their own, blobs with and without records,
and the scans of ``filebay fsck`` and of the orphan rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from filebay.catalog.files import Catalog, NewFile
from filebay.catalog.sql.deployment import SqlDeployment
from filebay.catalog.sql.files import SqlCatalog
from filebay.ids import new_id
from filebay.storage.base import BlobStore
from filebay.storage.local import LocalBlobStore
from filebay.upkeep.findings import Report
from filebay.upkeep.orphans import OrphanPass, scan_orphans
from filebay.upkeep.scanner import FSCK, Check, Policy, Sources, scan

LATER = datetime.now(UTC) + timedelta(hours=2)  # past the default one-hour grace
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


def on_one_side(
    tmp_path: Path, scenario: Callable[[Side, LocalBlobStore], Awaitable[None]]
) -> None:
    """``scenario`` on one catalog (``a.db``) and the blob store beside it."""

    async def go() -> None:
        store = LocalBlobStore(tmp_path / "data")
        side = await Side.open(tmp_path / "a.db")
        try:
            await scenario(side, store)
        finally:
            await side.catalog.close()

    asyncio.run(go())


async def blob(store: LocalBlobStore, data: bytes = b"x") -> str:
    """A published blob (without a record); its key."""
    key = new_id()
    writer = await store.open_writer(key)
    await writer.write(data)
    await writer.commit()
    return key


async def files(side: Side, store: LocalBlobStore, count: int) -> list[str]:
    """``count`` blobs, each with its record."""
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
    """The orphan rule, repairing, with no grace."""
    return await scan_orphans(
        side.deployment,
        store,
        repair=True,
        grace=NO_TIME,
        quarantine_for=quarantine_for,
        ratio=0.5,
        now=LATER,
    )


async def fsck(
    catalog: Catalog,
    store: BlobStore,
    *,
    verify: bool = False,
    repair: bool = False,
    now: datetime | None = None,
    **policy: Any,
) -> Report:
    """``filebay fsck``'s scan (``policy``: fields of ``Policy`` other than its defaults)."""
    checks = (FSCK | Check.VERIFY) if verify else FSCK
    return await scan(
        Sources(catalog, store), checks, repair=repair, policy=Policy(**policy), now=now
    )
