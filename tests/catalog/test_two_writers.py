"""Two writers on one database, as two processes would be (two engines, two connection
pools, two runners): the guards that read before they write must still hold.

- the last enabled admin survives two admins demoting or disabling each other at once;
- an owner's quota holds when two processes record uploads at once (on SQLite this needs
  the write unit to take the lock before it reads: BEGIN IMMEDIATE).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from filebay.catalog.quota import Quota
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.users import SqlDirectory
from filebay.errors import LastAdmin, QuotaExceeded
from tests.contract.helpers import new_file
from tests.harness.database import fresh_database

Opener = Callable[[], Awaitable[SqlCatalog]]
Q100 = Quota(max_bytes=100)
ROUNDS = 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'two.db'}"
        return
    with fresh_database("filebay_two_writers") as url:
        yield url


@asynccontextmanager
async def two_catalogs(url: str) -> AsyncIterator[tuple[SqlCatalog, SqlCatalog]]:
    first = await SqlCatalog.open(url)
    second = await SqlCatalog.open(url)
    assert first.engine is not second.engine
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _enabled_admins(directory: SqlDirectory) -> set[str]:
    return {u.username for u in await directory.list_users() if u.is_admin and not u.disabled}


def test_two_admins_removing_each_other_at_once_leave_one(database_url: str) -> None:
    async def scenario() -> None:
        async with two_catalogs(database_url) as (one, two):
            left, right = SqlDirectory(one.engine), SqlDirectory(two.engine)
            for name in ("ann", "bob"):
                await left.create_user(name, "x", "admin", None)
            for round_ in range(ROUNDS):
                # Alternate demoting and disabling, and which side goes first.
                change = {"role": "user"} if round_ % 2 else {"disabled": True}
                calls = [left.update_user("ann", **change), right.update_user("bob", **change)]
                if round_ % 3 == 0:
                    calls.reverse()
                results = await asyncio.gather(*calls, return_exceptions=True)
                refused = [r for r in results if isinstance(r, BaseException)]
                assert len(refused) == 1 and isinstance(refused[0], LastAdmin), results
                assert refused[0].status == 409
                survivors = await _enabled_admins(left)
                assert len(survivors) == 1, (round_, survivors)
                for name in ("ann", "bob"):  # both admins again for the next round
                    await left.update_user(name, role="admin", disabled=False)

    asyncio.run(scenario())


def test_deleting_two_admins_at_once_keeps_one(database_url: str) -> None:
    async def scenario() -> None:
        async with two_catalogs(database_url) as (one, two):
            left, right = SqlDirectory(one.engine), SqlDirectory(two.engine)
            survivor: str | None = None
            for round_ in range(ROUNDS):
                names = (f"ann{round_}", f"bob{round_}")
                for name in names:
                    await left.create_user(name, "x", "admin", None)
                if survivor is not None:  # the last round's: now one of two fresh admins
                    await left.delete_user(survivor)
                results = await asyncio.gather(
                    left.delete_user(names[0]), right.delete_user(names[1]), return_exceptions=True
                )
                refused = [r for r in results if isinstance(r, BaseException)]
                assert len(refused) == 1 and isinstance(refused[0], LastAdmin), results
                survivors = await _enabled_admins(left)
                assert len(survivors) == 1 and survivors <= set(names), survivors
                (survivor,) = survivors

    asyncio.run(scenario())


def test_the_only_enabled_admin_cannot_be_removed(database_url: str) -> None:
    async def scenario() -> None:
        async with two_catalogs(database_url) as (one, _two):
            directory = SqlDirectory(one.engine)
            await directory.create_user("only", "x", "admin", None)
            await directory.create_user("off", "x", "admin", None)
            await directory.update_user("off", disabled=True)  # a disabled admin does not count
            for attempt in (
                directory.delete_user("only"),
                directory.update_user("only", role="user"),
                directory.update_user("only", disabled=True),
            ):
                with pytest.raises(LastAdmin):
                    await attempt
            assert await _enabled_admins(directory) == {"only"}
            await directory.update_user("only", password_hash="y", role="admin")  # no loss
            await directory.delete_user("off")  # a disabled admin may go

    asyncio.run(scenario())


def test_two_processes_recording_uploads_keep_the_quota(database_url: str) -> None:
    async def scenario() -> None:
        async with two_catalogs(database_url) as (one, two):
            await SqlDirectory(one.engine).create_user("alice", "x", "user", 100)
            for round_ in range(ROUNDS):
                owner = "alice"
                files = [new_file(owner, f"r{round_}-{i}", size=30) for i in range(8)]
                results = await asyncio.gather(
                    *((one if i % 2 else two).add(f, quota=Q100) for i, f in enumerate(files)),
                    return_exceptions=True,
                )
                stored = [r for r in results if not isinstance(r, BaseException)]
                refused = [r for r in results if isinstance(r, BaseException)]
                assert all(isinstance(r, QuotaExceeded) for r in refused), refused
                assert len(stored) == 3, (round_, len(stored))
                assert await one.usage(owner) == 90
                for record in stored:
                    await one.delete(record.id, owner)

    asyncio.run(scenario())
