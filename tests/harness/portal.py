"""One portal: a running filebay with logins on, and what every suite needs to drive it
(users and logins, uploads, the database's rows, the data dir, the CLI, the server logs).

The auth, shares and tus suites extend it in their ``support.py`` with what only they use."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.harness import database
from tests.harness.database import fresh_database
from tests.harness.http import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    api_login,
    bearer,
    client,
    create_user,
)
from tests.harness.servers import (
    Deployment,
    ServerProcess,
    assert_no_crashes,
    crashes_since,
    log_offsets,
    logs_since,
    start_deployment,
)

P = TypeVar("P", bound="Portal")


def _of_deployment(name: str) -> Any:
    """A read-only attribute of a portal that is its deployment's."""
    return property(lambda portal: getattr(portal.deployment, name))


@dataclass
class Portal:
    """A running filebay with logins on, where each of its routes lives, and what the tests
    need to drive it."""

    deployment: Deployment
    database_url: str | None  # None: the SQLite file in the data dir
    env: dict[str, str] = field(default_factory=dict)
    http: httpx.Client = field(default_factory=client)
    admin_password: str = ADMIN_PASSWORD
    _admin_token: str | None = field(default=None, repr=False)

    # the deployment's shape and data dir, and where each route lives (base URLs)
    shape = _of_deployment("shape")
    data_dir = _of_deployment("data_dir")
    auth = _of_deployment("auth")
    upload = _of_deployment("upload")
    metadata = _of_deployment("metadata")
    download = _of_deployment("download")

    def process(self, service: str) -> ServerProcess:
        return self.deployment.process(service)

    # users and credentials
    def login(self, username: str, password: str = PASSWORD) -> str:
        """A bearer JWT from the OAuth2 password flow."""
        return api_login(self.auth, username, password, http=self.http)

    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.login(ADMIN, self.admin_password)
        return self._admin_token

    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token())

    def forget_admin_token(self) -> None:
        """Log in again next time (after something ended the admin's sessions)."""
        self._admin_token = None

    def add_user(
        self, username: str, password: str = PASSWORD, *, role: str = "user", **fields: Any
    ) -> dict[str, Any]:
        """A new user made by the admin; the user record."""
        return create_user(
            self.auth, self.admin(), username, password, role=role, http=self.http, **fields
        )

    # files
    def put_file(self, headers: dict[str, str], name: str, data: bytes) -> dict[str, Any]:
        """``data`` uploaded as ``name`` by the user of ``headers``; the file record."""
        response = self.http.put(f"{self.upload}/api/upload/{name}", content=data, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    # the data dir and the database
    def blob_files(self) -> set[Path]:
        return {p for p in (self.data_dir / "blobs").rglob("*") if p.is_file()}

    def temp_files(self) -> list[Path]:
        temp = self.data_dir / "tmp"
        return sorted(temp.iterdir()) if temp.is_dir() else []

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a table (column name → value), straight from the database."""
        return database.rows(self.data_dir, self.database_url, table)

    # the shell
    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILEBAY_")}
        env.update({"FILEBAY_DATA_DIR": str(self.data_dir), "COLUMNS": "200"})
        if self.database_url is not None:
            env["FILEBAY_DATABASE_URL"] = self.database_url
        return env

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m filebay_server <args>`` against this deployment's data."""
        return subprocess.run(
            [sys.executable, "-m", "filebay_server", *args],
            env=self.cli_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # server logs
    def log_offsets(self) -> dict[str, int]:
        return log_offsets(self.deployment)

    def logs_since(self, offsets: dict[str, int] | None = None) -> str:
        """Every process's log since ``offsets``, one after the other."""
        texts = logs_since(self.deployment, offsets)
        return "\n".join(f"--- {name} ---\n{text}" for name, text in texts.items())

    def crashes_since(self, offsets: dict[str, int] | None = None) -> str:
        return crashes_since(self.deployment, offsets)

    def close(self) -> None:
        self.http.close()
        self.deployment.stop()


@contextlib.contextmanager
def running_portal(
    cls: type[P], shape: str, data_dir: Path, pg_url: str, env: dict[str, str], db_prefix: str
) -> Iterator[P]:
    """A ``cls`` portal over filebay started with ``env``: ``all`` on SQLite, ``split`` on a
    fresh PostgreSQL database (named after ``db_prefix``) on the server of ``pg_url``."""
    env = dict(env)
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database(db_prefix, pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        portal = cls(start_deployment(shape, data_dir, env), database_url, env)
        stack.callback(portal.close)
        yield portal


def crash_watch(
    request: pytest.FixtureRequest, fixtures: Sequence[str] = ("portal",)
) -> Iterator[None]:
    """The body of an autouse fixture: the test fails if, while it ran, a server of one of
    the ``fixtures`` it uses (portals or deployments) logged a traceback (a 500 is always a
    bug)."""
    watched: list[tuple[Deployment, dict[str, int]]] = []
    for name in fixtures:
        if name in request.fixturenames:
            running = request.getfixturevalue(name)
            deployment: Deployment = getattr(running, "deployment", running)
            watched.append((deployment, log_offsets(deployment)))
    yield
    for deployment, offsets in watched:
        assert_no_crashes(deployment, offsets)


def shape_portal_fixture(
    cls: type[P], env: dict[str, str], db_prefix: str
) -> Callable[..., Iterator[P]]:
    """A package-scoped ``portal`` fixture over both shapes (``all`` on SQLite, ``split`` on
    a fresh PostgreSQL database named after ``db_prefix``): the suites that need nothing
    else of their servers declare it in one line, ``portal = shape_portal_fixture(...)``."""

    @pytest.fixture(scope="package", params=["all", "split"])
    def portal(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
    ) -> Iterator[P]:
        shape: str = request.param
        data_dir = tmp_path_factory.mktemp(f"{db_prefix}-{shape}")
        with running_portal(cls, shape, data_dir, pg_url, env, db_prefix) as running:
            yield running

    return portal


@pytest.fixture(autouse=True)
def no_portal_crash(request: pytest.FixtureRequest) -> Iterator[None]:
    """Autouse where a conftest imports it: no request of the test made the ``portal``'s
    servers log a traceback (a 500 is always a bug)."""
    yield from crash_watch(request)
