"""Helpers of the folder tests: the harness's portal with logins on, and the folder API as
a client uses it (each user by the bearer headers of their JWT)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.tus.support import OFFSET_TYPE, TUS, metadata_header
from tests.harness.http import ADMIN_PASSWORD, PASSWORD, bearer, unique
from tests.harness.portal import Portal

Headers = dict[str, str]

# Logins on, a known admin, uploads up to 8 MiB. No trash (§8.2: 0 days deletes at once):
# a deleted or replaced file's blob is gone when the answer comes.
ENV = {
    "FILEBAY_TRASH_DAYS": "0",
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(8 * 1024 * 1024),
    "FILEBAY_LOG_LEVEL": "warning",
}
SORTS = ("name", "-name", "size", "-size", "created_at", "-created_at")


@dataclass
class Tree(Portal):
    """A portal whose tests each make users of their own, so that what a user's root holds
    (counts, listings) is the test's alone."""

    def user(self, prefix: str = "u", **fields: Any) -> Headers:
        """A new user (``fields``: quota and the like), logged in; their headers."""
        name = unique(prefix)
        self.add_user(name, PASSWORD, **fields)
        return bearer(self.login(name, PASSWORD))

    # folders
    def mkdir_response(self, who: Headers, name: str, parent: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"name": name}
        if parent is not None:
            body["parent_id"] = parent
        return self.http.post(f"{self.metadata}/api/folders", json=body, headers=who)

    def mkdir(self, who: Headers, name: str, parent: str | None = None) -> dict[str, Any]:
        response = self.mkdir_response(who, name, parent)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def folder(self, who: Headers, folder_id: str) -> httpx.Response:
        return self.http.get(f"{self.metadata}/api/folders/{folder_id}", headers=who)

    def items(self, who: Headers, folder_id: str, **params: Any) -> httpx.Response:
        return self.http.get(
            f"{self.metadata}/api/folders/{folder_id}/items", params=params, headers=who
        )

    def all_items(
        self, who: Headers, folder_id: str, sort: str = "name", limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Every entry of a folder, page after page."""
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": sort, "limit": limit}
            if cursor:
                params["cursor"] = cursor
            response = self.items(who, folder_id, **params)
            assert response.status_code == 200, response.text
            page = response.json()
            out.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return out
            assert len(out) < 10_000, "paging does not end"

    def patch_folder(self, who: Headers, folder_id: str, **body: Any) -> httpx.Response:
        return self.http.patch(f"{self.metadata}/api/folders/{folder_id}", json=body, headers=who)

    def rmdir(self, who: Headers, folder_id: str) -> httpx.Response:
        return self.http.delete(f"{self.metadata}/api/folders/{folder_id}", headers=who)

    def resolve(self, who: Headers, path: str) -> httpx.Response:
        return self.http.get(f"{self.metadata}/api/resolve", params={"path": path}, headers=who)

    # files
    def put(self, who: Headers, path: str, data: bytes, **params: str) -> httpx.Response:
        """``PUT /api/upload/<path>`` (``path`` as sent: its slashes and escapes)."""
        return self.http.put(
            f"{self.upload}/api/upload/{path}", content=data, params=params, headers=who
        )

    def put_ok(self, who: Headers, path: str, data: bytes, **params: str) -> dict[str, Any]:
        response = self.put(who, path, data, **params)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def record(self, who: Headers, file_id: str) -> httpx.Response:
        return self.http.get(f"{self.metadata}/api/files/{file_id}", headers=who)

    def content(self, who: Headers, file_id: str) -> httpx.Response:
        return self.http.get(f"{self.download}/api/files/{file_id}/content", headers=who)

    def patch_file(
        self, who: Headers, file_id: str, body: dict[str, Any], **params: str
    ) -> httpx.Response:
        return self.http.patch(
            f"{self.metadata}/api/files/{file_id}", json=body, params=params, headers=who
        )

    def copy(
        self, who: Headers, file_id: str, body: dict[str, Any] | None = None, **params: str
    ) -> httpx.Response:
        return self.http.post(
            f"{self.metadata}/api/files/{file_id}/copy",
            json=body or {},
            params=params,
            headers=who,
        )

    def delete_file(self, who: Headers, file_id: str) -> httpx.Response:
        return self.http.delete(f"{self.metadata}/api/files/{file_id}", headers=who)

    def list_files(self, who: Headers, **params: Any) -> httpx.Response:
        return self.http.get(f"{self.metadata}/api/files", params=params, headers=who)

    # tus
    def tus_upload(self, who: Headers, data: bytes, metadata: dict[str, str]) -> httpx.Response:
        """A whole tus upload (create, then one PATCH); the PATCH's answer."""
        headers = {**who, "Tus-Resumable": TUS}
        created = self.http.post(
            f"{self.upload}/api/tus/",
            headers={
                **headers,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": metadata_header(metadata),
            },
        )
        if created.status_code != 201:
            return created
        location = created.headers["Location"]
        url = location if location.startswith("http") else f"{self.upload}{location}"
        return self.http.patch(
            url,
            headers={**headers, "Upload-Offset": "0", "Content-Type": OFFSET_TYPE},
            content=data,
        )

    @staticmethod
    def tus_file_id(response: httpx.Response) -> str:
        """The file id of a finished tus upload (the upload id is the file id)."""
        assert response.status_code == 204, response.text
        return str(response.request.url.path.rstrip("/").rsplit("/", 1)[1])

    # the store
    def blob_key(self, file_id: str) -> str:
        keys = [r["blob_key"] for r in self.rows("files") if r["id"] == file_id]
        assert len(keys) == 1, f"no record of {file_id}"
        return str(keys[0])

    def blob_path(self, key: str) -> Path:
        """Where the local blob store keeps ``key`` (``blobs/ab/cd/<key>``)."""
        return self.data_dir / "blobs" / key[:2] / key[2:4] / key


def detail(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json())
