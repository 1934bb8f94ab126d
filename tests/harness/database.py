"""The databases of the tests: fresh PostgreSQL databases on the machine's server, and the
rows of a table straight from a deployment's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

T = TypeVar("T")

# The machine's PostgreSQL (trust auth). Tests make databases of their own on it.
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the test's thread may have a running loop
    (Playwright's sync API keeps one while a browser is open)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _plain_dsn(url: str) -> str:
    """asyncpg's form of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


def pg_fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    """The rows of ``query``, straight from the database at ``database_url``."""
    return run_async(_fetch(_plain_dsn(database_url), query))


def rows(data_dir: Path, database_url: str | None, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` (column name → value), straight from a deployment's database:
    the PostgreSQL one at ``database_url``, or (None) the SQLite file in ``data_dir``."""
    assert table.isidentifier()
    query = f"SELECT * FROM {table}"
    if database_url is not None:
        return [dict(r) for r in pg_fetch(database_url, query)]
    conn = sqlite3.connect(data_dir / "filebay.db", timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(query)]
    finally:
        conn.close()


@contextlib.contextmanager
def fresh_database(prefix: str, beside: str = f"{PG_SERVER}/postgres") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``beside`` (the URL of any database
    there), dropped afterwards; its URL.

    A database of the caller's own, never a shared one: a deployment that found users there
    (another suite's first start) would ignore FILEBAY_ADMIN_PASSWORD, and a test that
    empties tables would empty them under other suites."""
    server = beside.rpartition("/")[0]
    admin_dsn = _plain_dsn(server) + "/postgres"
    name = f"{prefix}_{secrets.token_hex(4)}"
    run_async(_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        run_async(_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
