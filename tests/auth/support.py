"""Helpers of the auth tests: filebay with logins on, users, tokens, the database, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.servers import Deployment, ServerProcess, free_port

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-0123"
PASSWORD = "user-password-0123"
REVOCATION_SECONDS = 2
# How long after a revocation a service may still accept the old credential: the configured
# cache lifetime, plus request latency on a busy two-core machine.
REVOCATION_BOUND = REVOCATION_SECONDS + 1.5
LOGIN_MAX_FAILURES = 3

# Every module's deployment runs with these: logins on, short revocation cache, low lockout.
AUTH_ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_REVOCATION_SECONDS": str(REVOCATION_SECONDS),
    "FILEBAY_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
    "FILEBAY_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    "FILEBAY_LOG_LEVEL": "warning",
}

READY_TIMEOUT = 120.0
CRASH_MARKERS = ("Traceback (most recent call last)", "Exception in ASGI application")


# --- HTTP ----------------------------------------------------------------------------------


def _refuse_500(response: httpx.Response) -> None:
    assert response.status_code != 500, (
        f"{response.request.method} {response.request.url} answered 500"
    )


def client(*, cookies: bool = False, timeout: float = 30.0) -> httpx.Client:
    """An httpx client that fails on a 500. Without ``cookies`` it never keeps one, so a
    login answer cannot silently authenticate the requests that follow."""
    jar = CookieJar() if cookies else CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(timeout=timeout, cookies=jar, event_hooks={"response": [_refuse_500]})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def wait_for(probe: Callable[[], bool], bound: float, what: str, *, interval: float = 0.1) -> float:
    """Seconds until ``probe()`` held; fails after ``bound`` seconds."""
    start = time.monotonic()
    while True:
        if probe():
            return time.monotonic() - start
        if time.monotonic() - start > bound:
            raise AssertionError(f"not within {bound:.1f} s: {what}")
        time.sleep(interval)


def wait_all_status(
    probes: dict[str, Callable[[], httpx.Response]],
    status: int,
    bound: float = REVOCATION_BOUND,
    *,
    since: float | None = None,
) -> dict[str, float]:
    """Poll every probe until each answered ``status``; the seconds each took (from
    ``since``, a ``time.monotonic()`` value, by default now). Fails with the laggards."""
    start = time.monotonic() if since is None else since
    took: dict[str, float] = {}
    last: dict[str, int] = {}
    while True:
        for name, probe in probes.items():
            if name in took:
                continue
            response = probe()
            last[name] = response.status_code
            if response.status_code == status:
                took[name] = time.monotonic() - start
        if len(took) == len(probes):
            return took
        if time.monotonic() - start > bound:
            late = {n: s for n, s in last.items() if n not in took}
            raise AssertionError(f"still answering {late} after {bound:.1f} s (want {status})")
        time.sleep(0.1)


# --- PostgreSQL ----------------------------------------------------------------------------


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database(pg_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``pg_url``, dropped afterwards.

    Not ``pg_url`` itself: that one is shared by the whole session, and a deployment that
    found users there (another suite's first start) would ignore FILEBAY_ADMIN_PASSWORD."""
    server, _, _db = pg_url.rpartition("/")
    admin_dsn = _plain_dsn(server) + "/postgres"
    name = f"filebay_auth_{secrets.token_hex(4)}"
    asyncio.run(_pg_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        asyncio.run(_pg_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


# --- servers -------------------------------------------------------------------------------


def start_processes(shape: str, data_dir: Path, env: dict[str, str]) -> Deployment:
    """Like ``tests.servers.start_deployment``, but the split's four services start side by
    side (the auth service makes the first admin and the signing key; the others need
    neither to start, and concurrent schema migrations are serialised by the database)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(shape, data_dir)
    names = ["all"] if shape == "all" else ["auth", "metadata", "upload", "download"]
    ports = {name: free_port() for name in names}
    if shape == "split":
        env = {
            **env,
            "FILEBAY_METADATA_URL": f"http://127.0.0.1:{ports['metadata']}",
            "FILEBAY_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
            "FILEBAY_UI_URL": f"http://127.0.0.1:{ports['upload']}",
        }
    try:
        for name in names:
            proc = ServerProcess(name, ports[name], data_dir, env, data_dir / f"{name}.log")
            deployment.processes[name] = proc
            proc.start(wait=False)
        for proc in deployment.processes.values():
            wait_ready(proc)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def wait_ready(proc: ServerProcess, timeout: float = READY_TIMEOUT) -> None:
    """Like ``ServerProcess.wait_ready``, with more patience: a two-core machine busy with
    other test runs can take half a minute to import and start four services."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.proc is not None
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.service} exited:\n{proc.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.service} did not start in {timeout} s:\n{proc.log()}")


@dataclass
class Portal:
    """A running filebay with logins on, and what the tests need to drive it."""

    deployment: Deployment
    database_url: str | None  # None: the SQLite file in the data dir
    env: dict[str, str]
    http: httpx.Client = field(default_factory=client)
    _tokens: dict[str, str] = field(default_factory=dict)

    # where each route lives
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

    def url(self, service: str) -> str:
        return str(getattr(self, service))

    @property
    def login_process(self) -> ServerProcess:
        """The process that serves logins (and prints the first admin's password)."""
        procs = self.deployment.processes
        return procs.get("auth") or procs["all"]

    # users and credentials
    def login(self, username: str, password: str = PASSWORD) -> str:
        """A bearer JWT from the OAuth2 password flow."""
        response = self.http.post(
            f"{self.auth}/api/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin_token(self) -> str:
        if ADMIN not in self._tokens:
            self._tokens[ADMIN] = self.login(ADMIN, ADMIN_PASSWORD)
        return self._tokens[ADMIN]

    def admin(self) -> dict[str, str]:
        return bearer(self.admin_token())

    def add_user(
        self,
        username: str,
        password: str = PASSWORD,
        *,
        role: str = "user",
        quota_bytes: int | None = None,
    ) -> dict[str, Any]:
        response = self.http.post(
            f"{self.auth}/api/users",
            json={
                "username": username,
                "password": password,
                "role": role,
                "quota_bytes": quota_bytes,
            },
            headers=self.admin(),
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def new_user(self, prefix: str = "user", **kwargs: Any) -> tuple[str, str]:
        """A fresh user and a bearer JWT of theirs."""
        username = unique(prefix)
        self.add_user(username, **kwargs)
        return username, self.login(username)

    def patch_user(self, username: str, **changes: Any) -> httpx.Response:
        return self.http.patch(
            f"{self.auth}/api/users/{username}", json=changes, headers=self.admin()
        )

    def users(self) -> dict[str, dict[str, Any]]:
        response = self.http.get(f"{self.auth}/api/users", headers=self.admin())
        assert response.status_code == 200, response.text
        return {u["username"]: u for u in response.json()["items"]}

    def new_api_token(self, token: str, name: str = "test") -> dict[str, Any]:
        response = self.http.post(
            f"{self.auth}/api/tokens", json={"name": name}, headers=bearer(token)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def put(self, token: str, name: str, data: bytes) -> dict[str, Any]:
        response = self.http.put(
            f"{self.upload}/api/upload/{name}", content=data, headers=bearer(token)
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def all_file_ids(self) -> set[str]:
        """Every file's id, as an admin sees them."""
        ids: set[str] = set()
        cursor = None
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            response = self.http.get(
                f"{self.metadata}/api/files", params=params, headers=self.admin()
            )
            assert response.status_code == 200, response.text
            page = response.json()
            ids |= {item["id"] for item in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    # probes: one authenticated request per service that stores nothing
    def probes(self, headers: dict[str, str], file_id: str) -> dict[str, Callable[[], Any]]:
        """Per service, a request that needs a user: auth /api/me, metadata file record,
        download content, upload's home page (a PUT would store a file)."""
        return {
            "auth": lambda: self.http.get(f"{self.auth}/api/me", headers=headers),
            "metadata": lambda: self.http.get(
                f"{self.metadata}/api/files/{file_id}", headers=headers
            ),
            "upload": lambda: self.http.get(f"{self.upload}/", headers=headers),
            "download": lambda: self.http.get(
                f"{self.download}/api/files/{file_id}/content", headers=headers
            ),
        }

    # the data dir and the database
    def blob_files(self) -> set[Path]:
        return {p for p in (self.data_dir / "blobs").rglob("*") if p.is_file()}

    def temp_files(self) -> list[Path]:
        temp = self.data_dir / "tmp"
        return sorted(temp.iterdir()) if temp.is_dir() else []

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of a table, straight from the database."""
        assert table.isidentifier()
        if self.database_url is None:
            conn = sqlite3.connect(self.data_dir / "filebay.db", timeout=10)
            try:
                return list(conn.execute(f"SELECT * FROM {table}"))
            finally:
                conn.close()
        return asyncio.run(_pg_rows(_plain_dsn(self.database_url), f"SELECT * FROM {table}"))

    # the shell
    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FILEBAY_")}
        env.update({"FILEBAY_DATA_DIR": str(self.data_dir), "COLUMNS": "200"})
        if self.database_url is not None:
            env["FILEBAY_DATABASE_URL"] = self.database_url
        return env

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m filebay <args>`` against this deployment's data."""
        return subprocess.run(
            [sys.executable, "-m", "filebay", *args],
            env=self.cli_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # server logs
    def log_offsets(self) -> dict[str, int]:
        return {
            name: proc.log_path.stat().st_size if proc.log_path.exists() else 0
            for name, proc in self.deployment.processes.items()
        }

    def crashes_since(self, offsets: dict[str, int]) -> str:
        found = []
        for name, proc in self.deployment.processes.items():
            if not proc.log_path.exists():
                continue
            with proc.log_path.open("rb") as fh:
                fh.seek(offsets.get(name, 0))
                text = fh.read().decode(errors="replace")
            if any(marker in text for marker in CRASH_MARKERS):
                found.append(f"--- {name} ---\n{text[-4000:]}")
        return "\n".join(found)

    def close(self) -> None:
        self.http.close()
        self.deployment.stop()


@contextlib.contextmanager
def running_portal(
    shape: str,
    data_dir: Path,
    pg_url: str,
    env: dict[str, str] | None = None,
    *,
    unset: tuple[str, ...] = (),
) -> Iterator[Portal]:
    """filebay with logins on: ``all`` on SQLite, ``split`` on a fresh PostgreSQL database.
    ``env`` adds to (and ``unset`` takes away from) ``AUTH_ENV``."""
    env = {k: v for k, v in {**AUTH_ENV, **(env or {})}.items() if k not in unset}
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database(pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        portal = Portal(start_processes(shape, data_dir, env), database_url, env)
        stack.callback(portal.close)
        yield portal
