"""filebay.upkeep.sweeper: the scan in repair mode, as the metadata service runs it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from filebay.catalog.files import NewFile
from filebay.catalog.shares import Share
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.uploads import UploadSession
from filebay.config import Settings
from filebay.errors import BlobNotFound, Conflict
from filebay.ids import new_id
from filebay.observability.metrics import REGISTRY
from filebay.runtime import Runtime
from filebay.storage.local import LocalBlobStore
from filebay.upkeep.identity import read_identity
from filebay.upkeep.sweeper import sweep_once
from filebay.wiring import open_local
from tests.unit.upkeep.support import Side, blob, files, held, live

HOUR = timedelta(hours=1)


@asynccontextmanager
async def metadata(data_dir: Path, **settings: Any) -> AsyncIterator[Runtime]:
    """What the metadata service (or the all-in-one server) sweeps with, on ``data_dir``."""
    given = Settings(data_dir=data_dir, admin_password="admin-password-1", **settings)
    runtime = await open_local(given, signs=True)
    try:
        yield runtime
    finally:
        await runtime.close()


def test_a_late_upload_of_a_deleted_account_never_reaches_a_new_account_of_that_name(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with metadata(tmp_path) as services:
            assert services.directory is not None and services.store is not None
            # An upload that landed after "ghost" was deleted (its token was still trusted).
            key = new_id()
            writer = await services.store.open_writer(key)
            await writer.write(b"late")
            await writer.commit()
            await services.catalog.add(
                NewFile(key, "ghost", "late.txt", 4, "text/plain", "0" * 64, key)
            )
            with pytest.raises(Conflict):
                await services.directory.create_user("ghost", "x", "user", None)

            removed = await sweep_once(services, orphans=False)

            assert removed["deleted_owner_file"] == 1
            assert await services.catalog.owners() == []
            with pytest.raises(BlobNotFound):
                await services.store.stat(key)
            user = await services.directory.create_user("ghost", "x", "user", None)
            assert user.username == "ghost"

    asyncio.run(scenario())


def test_the_sweeper_quarantines_through_the_same_rule_and_refuses_a_wrong_database(
    tmp_path: Path,
) -> None:
    async def scenario(root: Path) -> None:
        eager = {"temp_grace_seconds": 0, "orphan_quarantine_seconds": 3600}
        async with metadata(root / "data", **eager) as services:
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

        wrong = f"sqlite+aiosqlite:///{root / 'wrong.db'}"
        async with metadata(root / "data", database_url=wrong, **eager) as services:
            for _ in range(3):
                removed = await sweep_once(services, orphans=True)
                assert removed["orphan_blob"] == removed["quarantine_expired"] == 0
            assert isinstance(services.store, LocalBlobStore)
            assert await live(services.store) == set(kept)
            assert await held(services.store) == {orphan}

    (tmp_path / "data").mkdir()  # (the SQLite file goes there; ``filebay serve`` creates it)
    asyncio.run(scenario(tmp_path))


def swept(kind: str) -> float:
    return REGISTRY.get_sample_value("filebay_swept_total", {"kind": kind}) or 0.0


def test_expired_uploads_and_shares_go_with_their_staged_bytes_and_are_counted(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with metadata(tmp_path) as services:
            assert services.shares is not None and isinstance(services.store, LocalBlobStore)
            now = datetime.now(UTC)
            gone, kept = new_id(), new_id()
            for upload_id, expires in ((gone, now - timedelta(minutes=1)), (kept, now + HOUR)):
                await services.uploads.create_upload(
                    UploadSession(upload_id, "admin", 9, 0, "a.bin", "", "", now, expires)
                )
                await services.store.create_staged(upload_id)
            for expires in (now - timedelta(days=2), now - HOUR, None):
                share = Share(new_id(), new_id(), "admin", now, expires, None, None, 0)
                await services.shares.create_share(share, new_id())
            before = {kind: swept(kind) for kind in ("tus_upload", "share")}

            removed = await sweep_once(services, orphans=False)

            assert (removed["tus_upload"], removed["share"]) == (1, 1)
            assert {kind: swept(kind) - before[kind] for kind in before} == {
                "tus_upload": 1,
                "share": 1,
            }
            staged = {stat.key async for stat in services.store.iter_staged()}
            assert staged == {kept}
            assert await services.uploads.count_uploads() == 1
            # A share a day past its expiry still answers 404 like every dead link: kept.
            assert await services.shares.delete_expired(now) == 1

    asyncio.run(scenario())
