"""filebay.upkeep.scanner as ``filebay fsck`` runs it: find what is damaged or left over
between catalog and blob store, and repair it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from filebay.catalog.files import FileRecord, NewFile
from filebay.catalog.sql.deployment import SqlDeployment
from filebay.catalog.sql.files import SqlCatalog
from filebay.errors import BlobNotFound, NotFound
from filebay.ids import new_id
from filebay.storage.base import BlobStat, BlobWriter
from filebay.storage.local import LocalBlobStore, LocalBlobWriter
from filebay.upkeep.findings import Report
from filebay.upkeep.identity import establish_identity
from tests.unit.upkeep.support import LATER, blob, fsck, held, live


class Env:
    def __init__(self, root: Path, catalog: SqlCatalog) -> None:
        self.store = LocalBlobStore(root / "data")
        self.catalog = catalog

    async def file(
        self, data: bytes, *, size: int | None = None, sha256: str | None = None
    ) -> FileRecord:
        """A blob and its record; ``size``/``sha256`` let the record lie about the blob."""
        key = await blob(self.store, data)
        return await self.catalog.add(
            NewFile(
                id=key,
                owner="alice",
                name=f"{key[:6]}.bin",
                size=len(data) if size is None else size,
                content_type="application/octet-stream",
                sha256=sha256 or hashlib.sha256(data).hexdigest(),
                blob_key=key,
            )
        )

    async def untouched(self, record: FileRecord) -> None:
        """Damage is reported, never repaired: the record and its blob stay as they are."""
        assert await self.catalog.get(record.id, None) == record
        assert await live(self.store) == {record.blob_key}

    async def temp(self, data: bytes) -> BlobWriter:
        writer = await self.store.open_writer(new_id())
        # Padded past what a local writer holds in memory, so the temp file exists.
        await writer.write(data.ljust(LocalBlobWriter.HOLD_BYTES, b"."))
        return writer

    async def temp_count(self) -> int:
        stats: AsyncIterator[BlobStat] = self.store.iter_temps()
        return len([stat async for stat in stats])


Scenario = Callable[[Env], Awaitable[None]]


@pytest.fixture
def run(tmp_path: Path) -> Callable[[Scenario], None]:
    def runner(scenario: Scenario) -> None:
        async def go() -> None:
            catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'filebay.db'}")
            try:
                env = Env(tmp_path, catalog)
                # As at a server's first start: both empty, so both get one identity.
                assert (await establish_identity(SqlDeployment(catalog.engine), env.store)).ok
                await scenario(env)
            finally:
                await catalog.close()

        asyncio.run(go())

    return runner


def kinds(report: Report) -> list[tuple[str, str]]:
    return sorted((f.kind, f.key) for f in report.findings)


def test_a_consistent_store_is_clean(run: Callable[[Scenario], None]) -> None:
    async def scenario(env: Env) -> None:
        for n in range(3):
            await env.file(b"x" * n)
        report = await fsck(env.catalog, env.store, verify=True, now=LATER)
        assert (report.records, report.blobs, report.findings) == (3, 3, [])
        assert report.clean

    run(scenario)


def test_a_record_without_its_blob_is_found_and_repair_removes_the_record(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(env: Env) -> None:
        kept = await env.file(b"kept")
        lost = await env.file(b"lost")
        await env.store.delete(lost.blob_key)

        report = await fsck(env.catalog, env.store)
        assert kinds(report) == [("missing_blob", lost.id)]
        assert not report.findings[0].repaired
        assert report.findings[0].is_damage
        assert not report.clean
        assert await env.catalog.get(lost.id, None) == lost  # report only: nothing touched

        report = await fsck(env.catalog, env.store, repair=True)
        assert kinds(report) == [("missing_blob", lost.id)]
        assert report.findings[0].repaired
        assert not report.clean  # the bytes are lost: repaired, but not clean
        with pytest.raises(NotFound):
            await env.catalog.get(lost.id, None)
        assert await env.catalog.get(kept.id, None) == kept

        again = await fsck(env.catalog, env.store)
        assert again.findings == [] and again.clean

    run(scenario)


def test_an_orphan_blob_is_left_alone_within_the_grace_period(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(env: Env) -> None:
        await env.file(b"has a record")
        orphan = await blob(env.store, b"uploading right now")
        report = await fsck(env.catalog, env.store, repair=True)
        assert report.findings == [] and report.blobs == 2
        assert orphan in await live(env.store)

        report = await fsck(env.catalog, env.store, repair=True, grace=timedelta(0))
        assert kinds(report) == [("orphan_blob", orphan)]

    run(scenario)


def test_an_old_orphan_blob_is_quarantined_then_deleted_after_the_quarantine(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(env: Env) -> None:
        record = await env.file(b"has a record")
        orphan = await blob(env.store, b"no record")

        report = await fsck(env.catalog, env.store, now=LATER)
        assert kinds(report) == [("orphan_blob", orphan)]
        assert not report.findings[0].is_damage
        assert not report.clean
        assert orphan in await live(env.store)

        report = await fsck(env.catalog, env.store, now=LATER, repair=True)
        assert report.findings[0].repaired
        assert report.clean
        assert await live(env.store) == {record.blob_key}
        assert await held(env.store) == {orphan}  # moved aside, not deleted

        report = await fsck(env.catalog, env.store, now=LATER, repair=True)
        assert report.findings == [] and report.clean and report.quarantined == 1
        week = timedelta(days=7)
        report = await fsck(env.catalog, env.store, now=LATER + week)
        assert kinds(report) == [("quarantine_expired", orphan)]  # reported, not repaired
        assert await held(env.store) == {orphan}
        report = await fsck(env.catalog, env.store, now=LATER + week, repair=True)
        assert kinds(report) == [("quarantine_expired", orphan)] and report.clean
        assert await held(env.store) == set()

    run(scenario)


def test_a_size_mismatch_is_reported_and_never_touched(run: Callable[[Scenario], None]) -> None:
    async def scenario(env: Env) -> None:
        record = await env.file(b"12345", size=6)
        report = await fsck(env.catalog, env.store, repair=True, verify=True)
        assert kinds(report) == [("size_mismatch", record.id)]
        assert report.findings[0].is_damage and not report.findings[0].repaired
        assert not report.clean
        await env.untouched(record)

    run(scenario)


def test_a_sha256_mismatch_is_found_only_with_verify(run: Callable[[Scenario], None]) -> None:
    async def scenario(env: Env) -> None:
        record = await env.file(b"the bytes", sha256="0" * 64)
        report = await fsck(env.catalog, env.store, repair=True)
        assert report.findings == [] and report.clean

        report = await fsck(env.catalog, env.store, repair=True, verify=True)
        assert kinds(report) == [("sha256_mismatch", record.id)]
        finding = report.findings[0]
        assert finding.is_damage and not finding.repaired
        assert hashlib.sha256(b"the bytes").hexdigest() in finding.detail
        assert not report.clean
        await env.untouched(record)

    run(scenario)


def test_a_stale_temp_is_found_and_repair_removes_it(run: Callable[[Scenario], None]) -> None:
    async def scenario(env: Env) -> None:
        writer = await env.temp(b"half an upload")
        try:
            report = await fsck(env.catalog, env.store, repair=True)
            assert report.findings == []  # young: may be an upload in progress
            assert await env.temp_count() == 1

            report = await fsck(env.catalog, env.store, now=LATER)
            assert [f.kind for f in report.findings] == ["stale_temp"]
            assert not report.clean
            assert await env.temp_count() == 1

            report = await fsck(env.catalog, env.store, now=LATER, repair=True)
            assert [(f.kind, f.repaired) for f in report.findings] == [("stale_temp", True)]
            assert report.clean
            assert await env.temp_count() == 0
        finally:
            await writer.abort()

    run(scenario)


def test_every_kind_at_once(run: Callable[[Scenario], None]) -> None:
    async def scenario(env: Env) -> None:
        good = await env.file(b"good")
        missing = await env.file(b"missing")
        await env.store.delete(missing.blob_key)
        wrong_size = await env.file(b"size", size=1)
        wrong_hash = await env.file(b"hash", sha256="f" * 64)
        orphan = await blob(env.store, b"orphan")
        writer = await env.temp(b"temp")
        try:
            report = await fsck(env.catalog, env.store, verify=True, repair=True, now=LATER)
        finally:
            await writer.abort()
        assert (report.records, report.blobs) == (4, 4)
        found = {f.kind: f for f in report.findings}
        assert set(found) == {
            "missing_blob",
            "size_mismatch",
            "sha256_mismatch",
            "orphan_blob",
            "stale_temp",
        }
        assert found["missing_blob"].key == missing.id
        assert found["size_mismatch"].key == wrong_size.id
        assert found["sha256_mismatch"].key == wrong_hash.id
        assert found["orphan_blob"].key == orphan
        assert {k for k, f in found.items() if f.repaired} == {
            "missing_blob",
            "orphan_blob",
            "stale_temp",
        }
        assert not report.clean
        assert await live(env.store) == {good.blob_key, wrong_size.blob_key, wrong_hash.blob_key}

    run(scenario)


class RecordsOnlyStore:
    """A blob store without the Sweepable power: fsck can only check the records."""

    def __init__(self, inner: LocalBlobStore) -> None:
        self._inner = inner

    async def open_writer(self, key: str) -> BlobWriter:
        return await self._inner.open_writer(key)

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return self._inner.read(key, start, end)

    async def stat(self, key: str) -> BlobStat:
        return await self._inner.stat(key)

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    async def ping(self) -> None:
        await self._inner.ping()


def test_a_store_that_cannot_list_blobs_still_gets_its_records_checked(
    run: Callable[[Scenario], None],
) -> None:
    async def scenario(env: Env) -> None:
        lost = await env.file(b"lost")
        await env.store.delete(lost.blob_key)
        await blob(env.store, b"orphan, invisible to this store")
        report = await fsck(env.catalog, RecordsOnlyStore(env.store), now=LATER)
        assert kinds(report) == [("missing_blob", lost.id)]
        assert report.blobs == 0

    run(scenario)


def test_blob_not_found_is_what_a_missing_blob_raises(tmp_path: Path) -> None:
    # fsck relies on this translation to tell "missing" from "store down".
    with pytest.raises(BlobNotFound):
        asyncio.run(LocalBlobStore(tmp_path).stat(new_id()))
