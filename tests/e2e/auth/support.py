"""Helpers of the auth tests: filebay with logins on (the harness's portal, extended), users,
tokens, revocation bounds."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.harness import portal as harness
from tests.harness.http import ADMIN_PASSWORD, PASSWORD, bearer, create_api_token, unique
from tests.harness.servers import ServerProcess

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
class Portal(harness.Portal):
    """The harness's portal, with the users, tokens and probes of the auth tests."""

    # where each route lives
    def url(self, service: str) -> str:
        return str(getattr(self, service))

    @property
    def login_process(self) -> ServerProcess:
        """The process that serves logins (and prints the first admin's password)."""
        return self.process("auth")

    # users and credentials
    def add_user(  # type: ignore[override]
        self,
        username: str,
        password: str = PASSWORD,
        *,
        role: str = "user",
        quota_bytes: int | None = None,
    ) -> dict[str, Any]:
        """A new user (``quota_bytes`` always sent, None for the default); the record."""
        return super().add_user(username, password, role=role, quota_bytes=quota_bytes)

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
        return self.put_file(bearer(token), name, data)

    def all_file_ids(self) -> set[str]:
        """Every file's id, as an admin sees them."""
        ids: set[str] = set()
        cursor = None
        while True:
            params = {"limit": "1000", "owner": "all", **({"cursor": cursor} if cursor else {})}
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
    with harness.running_portal(Portal, shape, data_dir, pg_url, env, "filebay_auth") as portal:
        yield portal
