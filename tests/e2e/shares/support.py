"""Helpers of the share-link tests: the harness's portal, extended with files and links."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.harness import portal as harness
from tests.harness.http import ADMIN_PASSWORD, bearer, unique

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
class Portal(harness.Portal):
    """The harness's portal, with files and links. The API is on ``metadata``, the public
    share page and its bytes on ``download`` (one process in the all-in-one shape)."""

    # users
    def new_user(self, prefix: str = "user") -> dict[str, str]:
        """A fresh user; the bearer headers of their JWT."""
        username = unique(prefix)
        self.add_user(username)
        return bearer(self.login(username))

    # files and links
    def put(self, headers: dict[str, str], name: str, data: bytes) -> str:
        return str(self.put_file(headers, name, data)["id"])

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


@contextlib.contextmanager
def running_portal(shape: str, data_dir: Path, pg_url: str) -> Iterator[Portal]:
    """``all`` on SQLite, ``split`` (four processes) on a fresh PostgreSQL database."""
    with harness.running_portal(Portal, shape, data_dir, pg_url, ENV, "filebay_shares") as portal:
        yield portal
