"""A new SQLite catalog file is private: it holds every password, token and share hash."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from filebay.catalog.sql.files import SqlCatalog


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_catalog_and_its_wal_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    database = tmp_path / "filebay.db"
    old = os.umask(0o022)  # the usual umask, which would give 0644
    try:

        async def open_and_close() -> None:
            catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{database}")
            await catalog.usage("admin")
            await catalog.close()

        asyncio.run(open_and_close())
    finally:
        os.umask(old)
    assert _mode(database) == 0o600
    for companion in tmp_path.glob("filebay.db-*"):
        assert _mode(companion) == 0o600, companion


def test_an_existing_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    database = tmp_path / "filebay.db"
    database.touch(mode=0o640)
    database.chmod(0o640)

    async def open_and_close() -> None:
        await (await SqlCatalog.open(f"sqlite+aiosqlite:///{database}")).close()

    asyncio.run(open_and_close())
    assert _mode(database) == 0o640
