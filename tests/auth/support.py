"""Helpers of the auth tests: filebay with logins on, users, tokens, the database, the CLI."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import CRASH_MARKERS, ServerProcess, start_deployment
from tests.support import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    PortalBase,
    api_login,
    bearer,
    client,
    create_api_token,
    create_user,
    fresh_database,
    pg_fetch,
    unique,
)

REVOCATION_SECONDS = 2
# How long after a revocation a service may still accept the old credential: the configured
# cache lifetime, plus request latency on a busy two-core machine.
REVOCATION_BOUND = REVOCATION_SECONDS + 1.5
LOGIN_MAX_FAILURES = 3
LOGIN_MAX_FAILURES_PER_USER = 6

# Every module's deployment runs with these: logins on, short revocation cache, low lockout.
AUTH_ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_REVOCATION_SECONDS": str(REVOCATION_SECONDS),
    "FILEBAY_LOGIN_MAX_FAILURES": str(LOGIN_MAX_FAILURES),
    "FILEBAY_LOGIN_MAX_FAILURES_PER_USER": str(LOGIN_MAX_FAILURES_PER_USER),
    "FILEBAY_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    "FILEBAY_LOG_LEVEL": "warning",
}


# --- waiting ---------------------------------------------------------------------------------


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


@dataclass
class Portal(PortalBase):
    """A running filebay with logins on, and what the tests need to drive it."""

    env: dict[str, str]
    http: httpx.Client = field(default_factory=client)
    _tokens: dict[str, str] = field(default_factory=dict)

    # where each route lives
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
        return api_login(self.auth, username, password, http=self.http)

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
        return create_user(
            self.auth,
            self.admin(),
            username,
            password,
            role=role,
            quota_bytes=quota_bytes,
            http=self.http,
        )

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
        return create_api_token(self.auth, bearer(token), name, http=self.http)

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
        return [tuple(r) for r in pg_fetch(self.database_url, f"SELECT * FROM {table}")]

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
    """filebay with logins on: ``all`` on SQLite, ``split`` on a fresh PostgreSQL database on
    the server of ``pg_url``. ``env`` adds to (and ``unset`` takes away from) ``AUTH_ENV``."""
    env = {k: v for k, v in {**AUTH_ENV, **(env or {})}.items() if k not in unset}
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database("filebay_auth", pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        portal = Portal(start_deployment(shape, data_dir, env), database_url, env)
        stack.callback(portal.close)
        yield portal
