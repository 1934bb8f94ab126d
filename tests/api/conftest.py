"""Fixtures of the API tests: a client that refuses 500s, and a log check after each test."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.api.support import assert_no_crashes, client, log_offsets
from tests.servers import Deployment, running


@pytest.fixture(scope="package", params=["all", "split"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """The harness's ``deployment`` (tests/conftest.py, single-user), started once for the
    whole package instead of once per module: these tests keep apart by unique names."""
    shape: str = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"api-data-{shape}")
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024), "FILEBAY_AUTH": "off"}
    if shape == "split":
        env["FILEBAY_DATABASE_URL"] = pg_url
    with running(shape, data_dir, env) as dep:
        yield dep


# Fixtures that hold running servers whose logs are checked after each test.
SERVER_FIXTURES = ("deployment", "small_limit")


@pytest.fixture(autouse=True)
def no_server_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """No request of the test made a server log a traceback (a 500 is always a bug)."""
    watched: list[tuple[Deployment, dict[str, int]]] = []
    for name in SERVER_FIXTURES:
        if name in request.fixturenames:
            deployment: Deployment = request.getfixturevalue(name)
            watched.append((deployment, log_offsets(deployment)))
    yield
    for deployment, offsets in watched:
        assert_no_crashes(deployment, offsets)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client() as c:
        yield c


async def _pg(statement: str) -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own (fsck needs one no other test writes to)."""
    name = f"filebay_api_{secrets.token_hex(4)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
