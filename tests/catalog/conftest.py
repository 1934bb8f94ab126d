"""Catalog implementations for the contract suite, each handed out empty to every test.

- ``sqlite``: SqlCatalog on a fresh SQLite file;
- ``postgres``: SqlCatalog on a PostgreSQL database of this suite's own;
- ``http``: HttpCatalog talking to a real metadata service process (on SQLite).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from filebay.catalog.files import Catalog
from filebay.catalog.remote.client import HttpCatalog
from filebay.catalog.sql.files import SqlCatalog
from filebay.secrets import load_or_create_secret
from tests.catalog.helpers import MetadataServer, Runner, Scenario
from tests.servers import ServerProcess, free_port


@pytest.fixture(scope="session")
def metadata_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetadataServer]:
    """``filebay serve --service metadata`` on its own data dir (SQLite)."""
    data_dir = tmp_path_factory.mktemp("metadata")
    token = load_or_create_secret(data_dir / "service_token")
    env = {"FILEBAY_LOG_LEVEL": "warning", "FILEBAY_ADMIN_PASSWORD": secrets.token_urlsafe(16)}
    proc = ServerProcess("metadata", free_port(), data_dir, env, data_dir / "metadata.log")
    proc.start()
    try:
        yield MetadataServer(proc.url, token, data_dir / "filebay.db")
    finally:
        proc.stop()


async def _emptied(catalog: SqlCatalog) -> SqlCatalog:
    async with catalog.engine.begin() as conn:
        await conn.execute(text("DELETE FROM files"))
    return catalog


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "http"],
)
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    """Run an async scenario against an empty catalog of the parametrised kind."""
    kind: str = request.param
    open_catalog: Callable[[], Awaitable[Catalog]]
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"

        async def open_catalog() -> Catalog:
            return await SqlCatalog.open(url)

    elif kind == "postgres":
        pg_url: str = request.getfixturevalue("catalog_pg_url")

        async def open_catalog() -> Catalog:
            return await _emptied(await SqlCatalog.open(pg_url))

    else:
        server: MetadataServer = request.getfixturevalue("metadata_server")
        server.clear()

        async def open_catalog() -> Catalog:
            return HttpCatalog(server.url, server.token)

    def runner(scenario: Scenario) -> None:
        async def go() -> None:
            catalog = await open_catalog()
            try:
                await scenario(catalog)
            finally:
                await catalog.close()

        asyncio.run(go())

    return runner
