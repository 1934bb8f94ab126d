"""Every implementation of the catalog's contracts, each handed out empty to every test.

- ``sqlite``: the SQL implementations on a fresh SQLite file;
- ``postgres``: the SQL implementations on a PostgreSQL database of this suite's own
  (emptied before each test);
- ``remote``: ``HttpCatalog`` talking to a real metadata service process (on SQLite, which
  the test also opens with SQL to set the scene and check it; emptied before each test).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from filebay.catalog.remote.client import HttpCatalog
from filebay.catalog.sql.files import SqlCatalog
from filebay.secrets import load_or_create_secret
from tests.contract.helpers import (
    MetadataServer,
    Runner,
    Scenario,
    Subjects,
    SubjectsRunner,
    SubjectsScenario,
)
from tests.harness.servers import ServerProcess, free_port

#: Every table a contract writes (not ``deployment`` nor the schema's revision).
TABLES = (
    "files",
    "folders",
    "entry_names",
    "users",
    "sessions",
    "api_tokens",
    "login_failures",
    "uploads",
    "shares",
    "trash",
    "zip_links",
    "oidc_identities",
    "oidc_sign_ins",
    "totp_secrets",
    "recovery_codes",
    "mfa_challenges",
    "passkeys",
    "webauthn_challenges",
    "audit_events",
)
SQL_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
KINDS = [*SQL_KINDS, "remote"]


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
        for table in TABLES:
            await conn.execute(text(f"DELETE FROM {table}"))
    return catalog


def _runner(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SubjectsRunner:
    @asynccontextmanager
    async def opened() -> AsyncIterator[Subjects]:
        server: MetadataServer | None = None
        if kind == "sqlite":
            sql = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}")
        elif kind == "postgres":
            sql = await _emptied(await SqlCatalog.open(request.getfixturevalue("catalog_pg_url")))
        else:
            server = request.getfixturevalue("metadata_server")
            url = f"sqlite+aiosqlite:///{server.database}"
            sql = await _emptied(await SqlCatalog.open(url, run_migrations=False))
        try:
            if server is None:
                yield Subjects.on_sql(kind, sql)
                return
            client = HttpCatalog(server.url, server.token)
            try:
                yield Subjects.on_remote(kind, client, sql)
            finally:
                await client.close()
        finally:
            await sql.close()

    def runner(scenario: SubjectsScenario) -> None:
        async def go() -> None:
            async with opened() as subjects:
                await scenario(subjects)

        asyncio.run(go())

    return runner


@pytest.fixture(params=KINDS)
def run_all(request: pytest.FixtureRequest, tmp_path: Path) -> SubjectsRunner:
    """Run an async scenario against empty ``Subjects`` of every kind."""
    return _runner(request.param, request, tmp_path)


@pytest.fixture(params=SQL_KINDS)
def run_sql(request: pytest.FixtureRequest, tmp_path: Path) -> SubjectsRunner:
    """``run_all`` for the parts of a contract that only SQL implements (no service calls
    them over HTTP: the auth and metadata services have the database)."""
    return _runner(request.param, request, tmp_path)


@pytest.fixture
def run(run_all: SubjectsRunner) -> Runner:
    """Run an async scenario against an empty ``Catalog`` of the parametrised kind."""

    def runner(scenario: Scenario) -> None:
        async def on_catalog(subjects: Subjects) -> None:
            await scenario(subjects.catalog)

        run_all(on_catalog)

    return runner
