"""Helpers of the share-link tests: filebay with logins on, users, files, links, the database."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import CRASH_MARKERS, start_deployment
from tests.support import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    PortalBase,
    api_login,
    bearer,
    client,
    create_user,
    fresh_database,
    pg_fetch,
    unique,
)

SHARE_PASSWORD = "open sesame 0123"  # easy to grep for in the server logs

ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(16 * 1024 * 1024),
    # Access logs on: the test that greps them for the password must see every request.
    "FILEBAY_LOG_LEVEL": "info",
}


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    """A Cookie header, set by hand (a client's own jar would add the ones it was given)."""
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


@dataclass
class Portal(PortalBase):
    """A running filebay with logins on. The API is on ``metadata``, the public share page
    and its bytes on ``download`` (one process in the all-in-one shape)."""

    http: httpx.Client = field(default_factory=client)
    _admin: str | None = None

    # users
    def login(self, username: str, password: str = PASSWORD) -> str:
        return api_login(self.auth, username, password, http=self.http)

    def admin(self) -> dict[str, str]:
        if self._admin is None:
            self._admin = self.login(ADMIN, ADMIN_PASSWORD)
        return bearer(self._admin)

    def new_user(self, prefix: str = "user") -> dict[str, str]:
        """A fresh user; the bearer headers of their JWT."""
        username = unique(prefix)
        create_user(self.auth, self.admin(), username, PASSWORD, http=self.http)
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
            conn = sqlite3.connect(self.data_dir / "filebay.db", timeout=10)
            conn.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
            finally:
                conn.close()
        return [dict(r) for r in pg_fetch(self.database_url, f"SELECT * FROM {table}")]

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


@contextlib.contextmanager
def running_portal(shape: str, data_dir: Path, pg_url: str) -> Iterator[Portal]:
    """``all`` on SQLite, ``split`` (four processes) on a fresh PostgreSQL database."""
    env = dict(ENV)
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database("filebay_shares", pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        deployment = start_deployment(shape, data_dir, env)
        stack.callback(deployment.stop)
        portal = Portal(deployment, database_url)
        stack.callback(portal.http.close)
        yield portal
