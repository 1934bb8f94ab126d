"""Migration 0006 (folders) on a database filled by the previous release's schema (0005):
every file ends in the root, clashing names are renamed ``name (2).ext``, nothing is lost,
and the database enforces the new uniqueness afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from filebay.catalog.files import ROOT, ListQuery, OnConflict
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.migrate import MIGRATIONS
from filebay.errors import NameTaken
from tests.contract.helpers import new_file
from tests.harness.database import fresh_database

#: (owner, name), oldest first: the oldest of each folded name keeps it.
OLD_FILES = [
    ("alice", "report.pdf"),
    ("alice", "Report.PDF"),
    ("alice", "REPORT.pdf"),
    ("alice", "Re\u0301sume\u0301.txt"),  # NFD
    ("alice", "R\u00e9sum\u00e9.TXT"),  # NFC, folds onto the one above
    ("alice", ".bashrc"),
    ("alice", ".BASHRC"),
    ("alice", "unique.bin"),
    ("bob", "report.pdf"),  # another owner: no clash
]
EXPECTED = {
    "alice": sorted(
        [
            "report.pdf",
            "Report (2).PDF",
            "REPORT (3).pdf",
            "Re\u0301sume\u0301.txt",
            "R\u00e9sum\u00e9 (2).TXT",
            ".bashrc",
            ".BASHRC (2)",
            "unique.bin",
        ]
    ),
    "bob": ["report.pdf"],
}


def _alembic(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def _fill_previous_release(url: str) -> None:
    engine = create_async_engine(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.run_sync(_alembic, "0005")
        for n, (owner, name) in enumerate(OLD_FILES):
            await conn.execute(
                text(
                    "INSERT INTO files (id, owner, name, size, content_type, sha256, blob_key,"
                    " created_at, updated_at) VALUES (:id, :owner, :name, :size, 'text/plain',"
                    " :sha, :id, :at, :at)"
                ),
                {
                    "id": f"{n:032x}",
                    "owner": owner,
                    "name": name,
                    "size": n,
                    "sha": "0" * 64,
                    # SQLite keeps naive UTC (see UTCDateTime); PostgreSQL an aware instant.
                    "at": (start + timedelta(minutes=n)).replace(
                        tzinfo=None if url.startswith("sqlite") else UTC
                    ),
                },
            )
    await engine.dispose()


async def _check_after_upgrade(url: str) -> None:
    catalog = await SqlCatalog.open(url)  # runs 0006
    try:
        for owner, names in EXPECTED.items():
            page = await catalog.list(owner, ListQuery(limit=100))
            assert sorted(r.name for r in page.items) == names
            assert {(r.folder_id, r.path) for r in page.items} == {
                (ROOT, f"/{r.name}") for r in page.items
            }
        # Every byte count and id survived.
        records = [r async for r in catalog.iter_all()]
        assert sorted(r.id for r in records) == [f"{n:032x}" for n in range(len(OLD_FILES))]
        assert sorted(r.size for r in records) == list(range(len(OLD_FILES)))
        # The database now enforces the names: a new clash is renamed or refused.
        again = await catalog.add(new_file("alice", "REPORT.PDF"))
        assert again.name == "REPORT (1).PDF"
        with pytest.raises(NameTaken):
            await catalog.add(replace(new_file("alice", "UNIQUE.BIN"), on_conflict=OnConflict.fail))
    finally:
        await catalog.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database("migrate_folders") as url:
        yield url


def test_upgrade_from_the_previous_release_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    asyncio.run(_fill_previous_release(url))
    asyncio.run(_check_after_upgrade(url))


@pytest.mark.postgres
def test_upgrade_from_the_previous_release_on_postgres(pg_url: str) -> None:
    asyncio.run(_fill_previous_release(pg_url))
    asyncio.run(_check_after_upgrade(pg_url))
