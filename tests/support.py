"""What the test packages share: logging in, users, bearer headers, fresh PostgreSQL
databases, a deployment with logins on.

Package helpers (tests/<package>/support.py) build on these; the fixtures that hand out
databases are in tests/conftest.py."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from tests.servers import Deployment

T = TypeVar("T")

ADMIN = "admin"
# The first admin's password (FILEBAY_ADMIN_PASSWORD) and the other users', for the suites
# with logins that have no reason to pick their own.
ADMIN_PASSWORD = "admin-password-0123"
PASSWORD = "user-password-0123"

# The machine's PostgreSQL (trust auth). Tests make databases of their own on it.
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"


# --- HTTP and logins -----------------------------------------------------------------------


def _refuse_500(response: httpx.Response) -> None:
    assert response.status_code != 500, (
        f"{response.request.method} {response.request.url} answered 500"
    )


def client(*, cookies: bool = False, timeout: float = 30.0) -> httpx.Client:
    """An httpx client that fails on a 500. Without ``cookies`` it keeps none, so no answer
    (a login, an unlock, a download ticket) silently changes the requests that follow."""
    jar = CookieJar() if cookies else CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(timeout=timeout, cookies=jar, event_hooks={"response": [_refuse_500]})


@contextlib.contextmanager
def _client_or(http: httpx.Client | None) -> Iterator[httpx.Client]:
    """``http`` itself (left open), or a client of the call's own (closed afterwards)."""
    if http is not None:
        yield http
        return
    with client() as own:
        yield own


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def api_login(
    auth_base: str, username: str, password: str, *, http: httpx.Client | None = None
) -> str:
    """A bearer JWT from the OAuth2 password flow of the service at ``auth_base``."""
    with _client_or(http) as c:
        response = c.post(
            f"{auth_base}/api/auth/token", data={"username": username, "password": password}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def create_user(
    auth_base: str,
    admin: dict[str, str],
    username: str,
    password: str,
    *,
    role: str = "user",
    http: httpx.Client | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A new user, made by the admin whose headers are ``admin``; the user record."""
    body = {"username": username, "password": password, "role": role, **fields}
    with _client_or(http) as c:
        response = c.post(f"{auth_base}/api/users", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_api_token(
    auth_base: str, headers: dict[str, str], name: str, *, http: httpx.Client | None = None
) -> dict[str, Any]:
    """A new API token of the user whose headers are ``headers``; the answer (with the
    secret under ``token``, shown only this once)."""
    with _client_or(http) as c:
        response = c.post(f"{auth_base}/api/tokens", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- PostgreSQL ----------------------------------------------------------------------------


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


def crash_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    """The body of an autouse fixture: when the test uses a ``portal`` (an auth or shares
    ``Portal``), it fails if a server logged a traceback meanwhile (a 500 is always a bug)."""
    if "portal" not in request.fixturenames:
        yield
        return
    portal = request.getfixturevalue("portal")
    offsets = portal.log_offsets()
    yield
    crashed = portal.crashes_since(offsets)
    assert not crashed, f"a server logged a traceback:\n{crashed}"


# --- a deployment with logins on ------------------------------------------------------------


@dataclass
class PortalBase:
    """A running filebay with logins on, and where each of its routes lives: what the
    packages' own portal objects (auth, shares) build on."""

    deployment: Deployment
    database_url: str | None  # None: the SQLite file in the data dir

    @property
    def shape(self) -> str:
        return self.deployment.shape

    @property
    def data_dir(self) -> Path:
        return self.deployment.data_dir

    @property
    def auth(self) -> str:
        return self.deployment.auth

    @property
    def upload(self) -> str:
        return self.deployment.upload

    @property
    def metadata(self) -> str:
        return self.deployment.metadata

    @property
    def download(self) -> str:
        return self.deployment.download
