"""The Python client of filebay's HTTP API (DESIGN §4, §8.1): one ``Client`` per server and
token. Every call returns the server's records or raises ``ApiError`` (with the server's
``code``); the transfers are the CLI's own: tus uploads that resume across runs, downloads
that resume a ``.part`` file and check the SHA-256.

    with Client("http://127.0.0.1:8000", token) as fb:
        record = fb.put("notes.txt", b"hello")
        for item in fb.iter_files(q="notes"):
            print(item["id"], item["name"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import httpx

from filebay.client.downloader import Download, DownloadResult
from filebay.client.errors import ApiError
from filebay.client.http import check, json_of, open_client
from filebay.client.pacing import Backoff, RateLimiter
from filebay.client.records import ApiToken, Entry, FileRecord, FolderRecord, Page, Share
from filebay.client.upload_state import UploadState
from filebay.client.uploader import FileUploader, UploadOptions, UploadResult

#: What a raw PUT or a multipart part may send: bytes, an open file, or pieces.
Content = bytes | IO[bytes] | Iterable[bytes]
ROOT = "root"


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters, leaving out the ones not given."""
    return {k: v for k, v in values.items() if v is not None}


class Client:
    """filebay at ``base_url``, as the user of ``token`` (an API token or a JWT; ``None``
    sends none). Redirects are not followed, so the token goes nowhere else.
    ``on_response`` sees every answer first (tests use it to fail on any 5xx)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        on_response: Callable[[httpx.Response], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = open_client(self.base_url, token, transport=transport, on_response=on_response)

    @classmethod
    def login(
        cls,
        base_url: str,
        username: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> Client:
        """A client holding a fresh JWT of ``username`` (OAuth2 password flow)."""
        with cls(base_url, transport=transport) as anonymous:
            jwt = anonymous.access_token(username, password)
        return cls(base_url, jwt, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    # -- plumbing

    def _json(self, method: str, path: str, action: str, *keys: str, **kw: Any) -> Any:
        """The JSON object of a 2xx answer, which must hold ``keys``; else ``ApiError``."""
        response = check(self.http.request(method, path, **kw), action=action)
        return json_of(response, *keys)

    def _no_content(self, method: str, path: str, action: str) -> None:
        check(self.http.request(method, path), 204, action=action)

    def _pages(self, path: str, params: dict[str, Any], action: str) -> Iterator[Any]:
        """Every item of a keyset-paged listing, following ``next_cursor``."""
        params = dict(params)
        while True:
            page = self._json("GET", path, action, "items", params=params)
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    # -- identity

    def access_token(self, username: str, password: str) -> str:
        """A JWT for ``username`` (401 for a wrong password)."""
        form = {"username": username, "password": password}
        body = self._json("POST", "/api/auth/token", "logging in", "access_token", data=form)
        return str(body["access_token"])

    def me(self) -> dict[str, Any]:
        return self._json("GET", "/api/me", "who am I")

    def create_api_token(self, name: str) -> ApiToken:
        """A long-lived API token (its secret is in this answer only)."""
        action = "creating an API token"
        return self._json("POST", "/api/tokens", action, "id", "token", json={"name": name})

    def revoke_api_token(self, token_id: str) -> bool:
        """Revoke a token; ``True`` when it is no longer valid (already revoked counts)."""
        response = self.http.delete(f"/api/tokens/{token_id}")
        # 401: the token used for this call is already invalid; 404: already revoked.
        return response.status_code in (204, 401, 404)

    # -- files

    def list_files(
        self,
        *,
        limit: int = 50,
        sort: str | None = None,
        q: str | None = None,
        cursor: str | None = None,
        folder_id: str | None = None,
    ) -> Page:
        """One page of the user's files across folders (``folder_id`` narrows it)."""
        params = _params(limit=limit, sort=sort, q=q, cursor=cursor, folder_id=folder_id)
        return self._json("GET", "/api/files", "listing", "items", params=params)

    def iter_files(self, *, limit: int = 1000, **filters: Any) -> Iterator[FileRecord]:
        """Every file matching ``filters`` (``sort``, ``q``, ``folder_id``), page by page."""
        yield from self._pages("/api/files", _params(limit=limit, **filters), "listing")

    def file(self, file_id: str) -> FileRecord:
        return self._json("GET", f"/api/files/{file_id}", f"file {file_id}", "id", "name")

    def update_file(
        self,
        file_id: str,
        *,
        name: str | None = None,
        folder_id: str | None = None,
        on_conflict: str | None = None,
    ) -> FileRecord:
        """Rename and/or move a file."""
        body = _params(name=name, folder_id=folder_id)
        return self._placed(
            "PATCH", f"/api/files/{file_id}", f"changing {file_id}", body, on_conflict
        )

    def copy_file(
        self,
        file_id: str,
        *,
        folder_id: str | None = None,
        name: str | None = None,
        on_conflict: str | None = None,
    ) -> FileRecord:
        """A server-side copy (no byte goes through this client), into ``folder_id``
        (default: the same folder) as ``name`` (default: the same name)."""
        body = _params(folder_id=folder_id, name=name)
        path = f"/api/files/{file_id}/copy"
        return self._placed("POST", path, f"copying {file_id}", body, on_conflict)

    def _placed(
        self, method: str, path: str, action: str, body: dict[str, Any], on_conflict: str | None
    ) -> Any:
        """A move, rename or copy: ``on_conflict`` says what a taken name does."""
        query = _params(on_conflict=on_conflict)
        return self._json(method, path, action, "id", json=body, params=query)

    def delete_file(self, file_id: str) -> None:
        self._no_content("DELETE", f"/api/files/{file_id}", f"deleting {file_id}")

    # -- uploads

    def put(
        self,
        name: str,
        content: Content,
        *,
        folder_id: str | None = None,
        on_conflict: str | None = None,
    ) -> FileRecord:
        """A raw ``PUT /api/upload/{name}``; ``name`` may hold ``/`` (folders are created)."""
        query = _params(folder_id=folder_id, on_conflict=on_conflict)
        path = f"/api/upload/{name}"
        return self._json("PUT", path, f"uploading {name}", "id", content=content, params=query)

    def upload_multipart(
        self,
        files: Iterable[tuple[str, Content]],
        *,
        folder_id: str | None = None,
        on_conflict: str | None = None,
    ) -> list[FileRecord]:
        """One ``POST /api/files`` with a part named ``file`` per ``(name, content)``."""
        parts = [("file", (name, content, "application/octet-stream")) for name, content in files]
        query = _params(folder_id=folder_id, on_conflict=on_conflict)
        body = self._json("POST", "/api/files", "uploading", "files", files=parts, params=query)
        records: list[FileRecord] = body["files"]
        return records

    def uploader(
        self,
        options: UploadOptions | None = None,
        state: UploadState | None = None,
        log: Callable[[str], None] = lambda _message: None,
    ) -> FileUploader:
        """A tus uploader that remembers unfinished uploads in ``state`` (default: the
        CLI's state file), so a later run resumes them."""
        return FileUploader(self.http, self.base_url, state or UploadState(), options, log)

    def upload(
        self,
        path: Path,
        *,
        metadata: Mapping[str, str] | None = None,
        progress: Callable[[int], None] = lambda _done: None,
        uploader: FileUploader | None = None,
    ) -> UploadResult:
        """A resumable tus upload of ``path`` (``metadata``: ``folder_id``, ``relativePath``,
        ``on_conflict``), checked against the file's SHA-256 at the end."""
        return (uploader or self.uploader()).upload(path, progress, metadata)

    # -- downloads

    def download(
        self,
        file: FileRecord | str,
        dest: Path,
        *,
        progress: Callable[[int], None] = lambda _done: None,
        log: Callable[[str], None] = lambda _message: None,
        backoff: Backoff | None = None,
        limiter: RateLimiter | None = None,
    ) -> DownloadResult:
        """Save a file's bytes at ``dest`` via ``dest.part`` (resumed when it exists),
        renamed only once the SHA-256 matches the record's."""
        record = self.file(file) if isinstance(file, str) else file
        transfer = Download(
            self.http,
            dict(record),
            dest,
            backoff=backoff,
            progress=progress,
            log=log,
            limiter=limiter,
        )
        return transfer.run()

    def read(self, file_id: str, *, inline: bool = False) -> bytes:
        """A (small) file's bytes in memory."""
        params = {"inline": "1"} if inline else None
        response = self.http.get(f"/api/files/{file_id}/content", params=params)
        return check(response, 200, action=f"reading {file_id}").content

    # -- shares

    def create_share(
        self,
        file_id: str,
        *,
        expires_in: int | None = None,
        password: str | None = None,
        max_downloads: int | None = None,
    ) -> Share:
        body = _params(expires_in=expires_in, password=password, max_downloads=max_downloads)
        path = f"/api/files/{file_id}/shares"
        return self._json("POST", path, f"sharing {file_id}", "token", "url", json=body)

    def shares(self, file_id: str) -> list[Share]:
        path = f"/api/files/{file_id}/shares"
        items: list[Share] = self._json("GET", path, "listing shares", "items")["items"]
        return items

    def revoke_share(self, token: str) -> None:
        """Revoke a link by its token or its ``id``."""
        self._no_content("DELETE", f"/api/shares/{token}", "revoking the share")

    # -- folders (DESIGN §8.1)

    def create_folder(self, name: str, parent_id: str | None = None) -> FolderRecord:
        """A new folder; ``ApiError`` with ``code == "name_taken"`` (and the body's
        ``existing_id``) when the name is in use there."""
        body = _params(name=name, parent_id=parent_id)
        return self._json("POST", "/api/folders", f"creating folder {name}", "id", json=body)

    def folder(self, folder_id: str = ROOT) -> FolderRecord:
        """A folder with its breadcrumbs and its recursive ``files`` and ``bytes``."""
        return self._json("GET", f"/api/folders/{folder_id}", f"folder {folder_id}")

    def folder_items(
        self,
        folder_id: str = ROOT,
        *,
        limit: int = 50,
        sort: str | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of a folder's entries: folders first, then files."""
        query = _params(limit=limit, sort=sort, cursor=cursor)
        path = f"/api/folders/{folder_id}/items"
        return self._json("GET", path, "listing the folder", "items", params=query)

    def iter_folder_items(
        self, folder_id: str = ROOT, *, limit: int = 1000, sort: str | None = None
    ) -> Iterator[Entry]:
        params = _params(limit=limit, sort=sort)
        yield from self._pages(f"/api/folders/{folder_id}/items", params, "listing the folder")

    def update_folder(
        self, folder_id: str, *, name: str | None = None, parent_id: str | None = None
    ) -> FolderRecord:
        """Rename and/or move a folder (409 ``cycle`` for a move below itself)."""
        body = _params(name=name, parent_id=parent_id)
        path = f"/api/folders/{folder_id}"
        return self._json("PATCH", path, f"changing folder {folder_id}", "id", json=body)

    def delete_folder(self, folder_id: str) -> None:
        self._no_content("DELETE", f"/api/folders/{folder_id}", f"deleting folder {folder_id}")

    def resolve(self, path: str) -> Entry:
        """The file or folder at ``path`` (``/photos/2026/a.jpg``); ``ApiError`` 404."""
        return self._json("GET", "/api/resolve", path, "id", params={"path": path})

    def find(self, path: str) -> Entry | None:
        """``resolve``, or ``None`` when nothing is at ``path``."""
        try:
            return self.resolve(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
