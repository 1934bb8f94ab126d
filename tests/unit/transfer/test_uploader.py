"""Uploader.multipart: the records of a request are written together, or none are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from filebay.catalog.files import FileRecord, ListQuery, NewFile
from filebay.catalog.quota import Quota
from filebay.catalog.sql.files import SqlCatalog
from filebay.errors import CatalogOutcomeUnknown, CatalogUnavailable
from filebay.storage.local import LocalBlobStore
from filebay.transfer.uploader import Uploader
from tests.e2e.api.support import Part, multipart_body, multipart_type

PARTS = [Part("file", b"first file", filename=b"a.txt"), Part("file", b"second", filename=b"b")]


class FailingCatalog(SqlCatalog):
    """Refuses every batch of records with ``error``."""

    error: Exception = CatalogUnavailable()

    async def add_many(self, news: list[NewFile], quota: Quota | None = None) -> list[FileRecord]:
        raise self.error


async def _body(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 7):  # small chunks: boundaries split anywhere
        yield data[i : i + 7]


def _blobs(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


async def _upload(catalog: SqlCatalog, store: LocalBlobStore) -> list[FileRecord]:
    uploader = Uploader(store, catalog, "admin", limit=1 << 20)
    return await uploader.multipart(multipart_type(), _body(multipart_body(PARTS)))


def test_every_part_is_recorded(tmp_path: Path) -> None:
    async def scenario() -> None:
        catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
        store = LocalBlobStore(tmp_path / "data")
        try:
            records = await _upload(catalog, store)
            assert [r.name for r in records] == ["a.txt", "b"]
            page = await catalog.list("admin", ListQuery())
            assert {r.id for r in page.items} == {r.id for r in records}
            assert len(_blobs(tmp_path / "data")) == 2
        finally:
            await catalog.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "blobs_kept"),
    [(CatalogUnavailable(), 0), (CatalogOutcomeUnknown(), 2)],
    ids=["refused", "outcome-unknown"],
)
def test_a_failed_batch_leaves_no_record_and_removes_blobs_only_when_surely_refused(
    tmp_path: Path, error: Exception, blobs_kept: int
) -> None:
    async def scenario() -> None:
        catalog = await FailingCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
        catalog.error = error
        store = LocalBlobStore(tmp_path / "data")
        try:
            with pytest.raises(type(error)):
                await _upload(catalog, store)
            assert (await catalog.list("admin", ListQuery())).items == []
            # Refused: nothing can refer to the blobs. Unknown: the records may exist, so
            # the blobs stay (fsck finds true orphans).
            assert len(_blobs(tmp_path / "data")) == blobs_kept
        finally:
            await catalog.close()

    asyncio.run(scenario())
