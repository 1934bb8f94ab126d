"""Fixtures: real servers in both shapes, and a fresh PostgreSQL database per run."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.servers import Deployment, running

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _pg(statement: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, dropped afterwards."""
    name = f"filebay_test_{secrets.token_hex(4)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module", params=["all", "split"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """filebay as users run it: one process on SQLite, or four processes on PostgreSQL.

    Single-user mode (FILEBAY_AUTH=off): these tests are about files; logins, ownership and
    the access matrix are tested with auth on in tests/auth/."""
    shape: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"data-{shape}")
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024), "FILEBAY_AUTH": "off"}
    if shape == "split":
        env["FILEBAY_DATABASE_URL"] = pg_url
    with running(shape, data_dir, env) as dep:
        yield dep
