"""Migrations on start: several processes starting at once on a new database (uvicorn's
``--workers``, replicas, the split shape's services) all come up on one schema."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.database import fresh_database

STARTERS = 4
OPEN = """
import asyncio, sys
from filebay.catalog.sql.files import SqlCatalog
async def main():
    catalog = await SqlCatalog.open(sys.argv[1])
    await catalog.close()
asyncio.run(main())
"""


def _start_at_once(url: str) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    failed = [out for proc, out in zip(procs, outputs, strict=True) if proc.returncode != 0]
    assert not failed, failed[0][-2000:]


@pytest.mark.parametrize("round_", range(3))
def test_processes_starting_at_once_on_a_new_sqlite_file(tmp_path: Path, round_: int) -> None:
    path = tmp_path / f"new{round_}.db"
    _start_at_once(f"sqlite+aiosqlite:///{path}")
    # The schema was committed, once.
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert len(db.execute("SELECT version_num FROM alembic_version").fetchall()) == 1
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert {"files", "users", "sessions"} <= tables, tables


@pytest.mark.postgres
def test_processes_starting_at_once_on_a_new_postgres_database() -> None:
    with fresh_database("filebay_migrate") as url:
        _start_at_once(url)
