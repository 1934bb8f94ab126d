"""Helpers of the share-link tests: filebay with logins on, users, files, links, the database."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from tests.servers import Deployment, ServerProcess, free_port

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-0123"
PASSWORD = "user-password-0123"
SHARE_PASSWORD = "open sesame 0123"  # easy to grep for in the server logs
T = TypeVar("T")
READY_TIMEOUT = 120.0
CRASH_MARKERS = ("Traceback (most recent call last)", "Exception in ASGI application")

ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    # Access logs on: the test that greps them for the password must see every request.
    "FILEBAY_LOG_LEVEL": "info",
}


def _refuse_500(response: httpx.Response) -> None:
    assert response.status_code != 500, (
        f"{response.request.method} {response.request.url} answered 500"
    )


def client(*, cookies: bool = False, timeout: float = 30.0) -> httpx.Client:
    """An httpx client that fails on a 500. Without ``cookies`` it keeps none, so no answer
    (an unlock, a download ticket) silently changes the requests that follow."""
    jar = CookieJar() if cookies else CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(timeout=timeout, cookies=jar, event_hooks={"response": [_refuse_500]})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    """A Cookie header, set by hand (a client's own jar would add the ones it was given)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the test's thread may have a running loop
    (Playwright's sync API keeps one while a browser is open)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_execute(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _pg_rows(dsn: str, query: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return [dict(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database(pg_url: str) -> Iterator[str]:
    """A new database on the server of ``pg_url`` (a deployment that found users in a shared
    one would ignore FILEBAY_ADMIN_PASSWORD), dropped afterwards."""
    server, _, _db = pg_url.rpartition("/")
    admin_dsn = _plain_dsn(server) + "/postgres"
    name = f"filebay_shares_{secrets.token_hex(4)}"
    _run(_pg_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        _run(_pg_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Portal:
    """A running filebay with logins on. The API is on ``metadata``, the public share page
    and its bytes on ``download`` (one process in the all-in-one shape)."""

    deployment: Deployment
    database_url: str | None  # None: SQLite in the data dir
    http: httpx.Client = field(default_factory=client)
    _admin: str | None = None

    @property
    def shape(self) -> str:
        return self.deployment.shape

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

    # users
    def login(self, username: str, password: str = PASSWORD) -> str:
        response = self.http.post(
            f"{self.auth}/api/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def admin(self) -> dict[str, str]:
        if self._admin is None:
            self._admin = self.login(ADMIN, ADMIN_PASSWORD)
        return bearer(self._admin)

    def new_user(self, prefix: str = "user") -> dict[str, str]:
        """A fresh user; the bearer headers of their JWT."""
        username = unique(prefix)
        response = self.http.post(
            f"{self.auth}/api/users",
            json={"username": username, "password": PASSWORD, "role": "user"},
            headers=self.admin(),
        )
        assert response.status_code == 201, response.text
        return bearer(self.login(username))

    # files and links
    def put(self, headers: dict[str, str], name: str, data: bytes) -> str:
        response = self.http.put(f"{self.upload}/api/upload/{name}", content=data, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def delete_file(self, headers: dict[str, str], file_id: str) -> None:
        response = self.http.delete(f"{self.metadata}/api/files/{file_id}", headers=headers)
        assert response.status_code == 204, response.text

    def create_share(self, headers: dict[str, str], file_id: str, **options: Any) -> httpx.Response:
        return self.http.post(
            f"{self.metadata}/api/files/{file_id}/shares", json=options, headers=headers
        )

    def share(self, headers: dict[str, str], file_id: str, **options: Any) -> dict[str, Any]:
        response = self.create_share(headers, file_id, **options)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def list_shares(self, headers: dict[str, str], file_id: str) -> httpx.Response:
        return self.http.get(f"{self.metadata}/api/files/{file_id}/shares", headers=headers)

    def revoke(self, headers: dict[str, str], token_or_id: str) -> httpx.Response:
        return self.http.delete(f"{self.metadata}/api/shares/{token_or_id}", headers=headers)

    def page_url(self, token: str) -> str:
        return f"{self.download}/s/{token}"

    def content_url(self, token: str) -> str:
        return f"{self.download}/s/{token}/content"

    # the database and the logs
    def rows(self, table: str) -> list[dict[str, Any]]:
        assert table.isidentifier()
        if self.database_url is None:
            conn = sqlite3.connect(self.deployment.data_dir / "filebay.db", timeout=10)
            conn.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
            finally:
                conn.close()
        return _run(_pg_rows(_plain_dsn(self.database_url), f"SELECT * FROM {table}"))

    def log_paths(self) -> list[Path]:
        return [proc.log_path for proc in self.deployment.processes.values()]

    def log_offsets(self) -> dict[Path, int]:
        return {p: p.stat().st_size if p.exists() else 0 for p in self.log_paths()}

    def logs_since(self, offsets: dict[Path, int] | None = None) -> str:
        texts = []
        for path in self.log_paths():
            if path.exists():
                with path.open("rb") as fh:
                    fh.seek((offsets or {}).get(path, 0))
                    texts.append(f"--- {path.name} ---\n" + fh.read().decode(errors="replace"))
        return "\n".join(texts)

    def crashes_since(self, offsets: dict[Path, int]) -> str:
        text = self.logs_since(offsets)
        return text if any(marker in text for marker in CRASH_MARKERS) else ""


def wait_ready(proc: ServerProcess, timeout: float = READY_TIMEOUT) -> None:
    """Like ``ServerProcess.wait_ready``, with more patience: three services importing at
    once on a busy two-core machine can take longer than the harness's 30 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.proc is not None
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.service} exited:\n{proc.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.service} did not start in {timeout:.0f} s:\n{proc.log()}")


def start_processes(shape: str, data_dir: Path, env: dict[str, str]) -> Deployment:
    """Like ``tests.servers.start_deployment``, but the split's metadata, upload and download
    services start side by side once auth is up (it creates the first admin and the key)."""
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
            if name in ("all", "auth"):
                wait_ready(proc)
        for proc in deployment.processes.values():
            wait_ready(proc)
    except BaseException:
        deployment.stop()
        raise
    return deployment


@contextlib.contextmanager
def running_portal(shape: str, data_dir: Path, pg_url: str) -> Iterator[Portal]:
    """``all`` on SQLite, ``split`` (four processes) on a fresh PostgreSQL database."""
    env = dict(ENV)
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database(pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        deployment = start_processes(shape, data_dir, env)
        stack.callback(deployment.stop)
        portal = Portal(deployment, database_url)
        stack.callback(portal.http.close)
        yield portal
