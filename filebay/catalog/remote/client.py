"""The catalog as a client of the metadata service (split shape): same contract over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import httpx

from filebay.catalog.files import FileRecord, ListQuery, NewFile, Page, SortKey
from filebay.catalog.quota import Quota
from filebay.catalog.shares import Share
from filebay.catalog.uploads import UploadSession
from filebay.catalog.users import User
from filebay.errors import (
    CatalogOutcomeUnknown,
    CatalogUnavailable,
    FilebayError,
    InvalidCursor,
    NotFound,
    QuotaExceeded,
    UploadLocked,
)
from filebay.ids import is_valid_id
from filebay.observability.context import REQUEST_ID_HEADER, request_id
from filebay.observability.metrics import CATALOG_RETRIES

INTERNAL = "/internal/v1"
# Reads are retried on connection failures; writes are not (they may have happened).
RETRIES = 2
RETRY_DELAY = 0.2
# Transport errors after which the request surely never reached the metadata service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def record_from_json(data: dict[str, Any]) -> FileRecord:
    return FileRecord(
        id=data["id"],
        owner=data["owner"],
        name=data["name"],
        size=int(data["size"]),
        content_type=data["content_type"],
        sha256=data["sha256"],
        blob_key=data["blob_key"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        shared=bool(data.get("shared", False)),
    )


def _owner_params(owner: str | None) -> dict[str, str]:
    return {"all": "1"} if owner is None else {"owner": owner}


class HttpCatalog:
    """Talks to ``/internal/v1`` of the metadata service with the service token."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + INTERNAL,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        attempts = RETRIES + 1 if idempotent else 1
        for attempt in range(attempts):
            rid = request_id.get()
            headers = {REQUEST_ID_HEADER: rid} if rid else None
            try:
                response = await self._client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                # A write whose connection failed before sending is still safe to report as 503.
                if attempt + 1 < attempts:
                    CATALOG_RETRIES.inc()
                    await asyncio.sleep(RETRY_DELAY * (attempt + 1))
                    continue
                if not idempotent and not isinstance(exc, _NOT_SENT):
                    # Sent, answer lost: the metadata service may still commit it.
                    raise CatalogOutcomeUnknown() from exc
                raise CatalogUnavailable() from exc
            return self._check(response)
        raise CatalogUnavailable()  # pragma: no cover - loop always returns or raises

    @staticmethod
    def _check(response: httpx.Response) -> httpx.Response:
        if response.is_success:
            return response
        try:
            detail = response.json().get("detail")
            code = response.json().get("code")
        except ValueError:
            detail, code = None, None
        if response.status_code == 404:
            raise NotFound(detail)
        if code == "invalid_cursor":
            raise InvalidCursor()
        if code == "quota_exceeded":
            raise QuotaExceeded(detail)
        if code == "upload_locked":
            raise UploadLocked(detail)
        if response.status_code in (502, 503, 504):
            raise CatalogUnavailable(detail)
        if response.status_code == 401:
            # Our service token was refused: a deployment fault, not the caller's login.
            raise CatalogUnavailable("the metadata service refused the service token")
        error = FilebayError(detail or f"metadata service answered {response.status_code}")
        error.status = response.status_code if response.status_code < 500 else 502
        error.code = code or "metadata_error"
        raise error

    async def add(self, new: NewFile, quota: Quota | None = None) -> FileRecord:
        body = {**asdict(new), **(quota or Quota()).to_json()}
        response = await self._call("POST", "/files", idempotent=False, json=body)
        return record_from_json(response.json())

    async def add_many(self, news: list[NewFile], quota: Quota | None = None) -> list[FileRecord]:
        if not news:
            return []
        body = {"files": [asdict(new) for new in news], **(quota or Quota()).to_json()}
        response = await self._call("POST", "/files/batch", idempotent=False, json=body)
        return [record_from_json(item) for item in response.json()["files"]]

    async def owners(self) -> list[str]:
        response = await self._call("GET", "/owners", idempotent=True)
        return [str(owner) for owner in response.json()["owners"]]

    async def usage(self, owner: str) -> int:
        response = await self._call("GET", "/usage", idempotent=True, params={"owner": owner})
        return int(response.json()["bytes"])

    async def session_user(self, username: str, session_hash: str) -> User | None:
        response = await self._call(
            "POST",
            "/auth/session",
            idempotent=True,
            json={"username": username, "session_hash": session_hash},
        )
        data = response.json()
        return None if data["user"] is None else User.from_json(data["user"])

    async def resolve_api_token(self, token_hash: str) -> User | None:
        response = await self._call(
            "POST", "/auth/api-token", idempotent=True, json={"token_hash": token_hash}
        )
        data = response.json()
        return None if data["user"] is None else User.from_json(data["user"])

    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        response = await self._call(
            "GET", f"/files/{file_id}", idempotent=True, params=_owner_params(owner)
        )
        return record_from_json(response.json())

    async def list(self, owner: str | None, query: ListQuery) -> Page:
        params = {**_owner_params(owner), "limit": str(query.limit), "sort": query.sort.value}
        if query.cursor:
            params["cursor"] = query.cursor
        if query.q:
            params["q"] = query.q
        response = await self._call("GET", "/files", idempotent=True, params=params)
        data = response.json()
        return Page([record_from_json(r) for r in data["items"]], data["next_cursor"])

    async def rename(self, file_id: str, owner: str | None, name: str) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        response = await self._call(
            "PATCH",
            f"/files/{file_id}",
            idempotent=True,
            params=_owner_params(owner),
            json={"name": name},
        )
        return record_from_json(response.json())

    async def delete(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        response = await self._call(
            "DELETE", f"/files/{file_id}", idempotent=False, params=_owner_params(owner)
        )
        return record_from_json(response.json())

    async def create_upload(self, session: UploadSession, quota: Quota | None = None) -> None:
        body = {**session.to_json(), **(quota or Quota()).to_json()}
        await self._call("POST", "/uploads", idempotent=False, json=body)

    async def get_upload(self, upload_id: str, owner: str | None) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        response = await self._call(
            "GET", f"/uploads/{upload_id}", idempotent=True, params=_owner_params(owner)
        )
        return UploadSession.from_json(response.json())

    async def lock_upload(
        self, upload_id: str, owner: str, token: str, lease_seconds: int
    ) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        response = await self._call(
            "POST",
            f"/uploads/{upload_id}/lock",
            idempotent=False,
            json={"owner": owner, "token": token, "lease_seconds": lease_seconds},
        )
        return UploadSession.from_json(response.json())

    async def renew_lock(self, upload_id: str, token: str, lease_seconds: int) -> None:
        await self._call(
            "POST",
            f"/uploads/{upload_id}/renew",
            idempotent=True,
            json={"token": token, "lease_seconds": lease_seconds},
        )

    async def advance_upload(
        self, upload_id: str, token: str, offset: int, expires_at: datetime, release: bool = False
    ) -> None:
        body = {
            "token": token,
            "offset": offset,
            "expires_at": expires_at.isoformat(),
            "release": release,
        }
        await self._call("POST", f"/uploads/{upload_id}/advance", idempotent=True, json=body)

    async def unlock_upload(self, upload_id: str, token: str) -> None:
        await self._call(
            "POST", f"/uploads/{upload_id}/unlock", idempotent=True, json={"token": token}
        )

    async def delete_upload(self, upload_id: str, owner: str | None) -> None:
        if not is_valid_id(upload_id):
            return
        await self._call(
            "DELETE", f"/uploads/{upload_id}", idempotent=True, params=_owner_params(owner)
        )

    async def expired_uploads(self, now: datetime, limit: int) -> list[UploadSession]:
        response = await self._call(
            "GET",
            "/uploads-expired",
            idempotent=True,
            params={"now": now.isoformat(), "limit": str(limit)},
        )
        return [UploadSession.from_json(item) for item in response.json()["items"]]

    async def count_uploads(self) -> int:
        response = await self._call("GET", "/uploads-count", idempotent=True)
        return int(response.json()["count"])

    async def find_share(self, token_hash: str) -> Share | None:
        response = await self._call(
            "POST", "/shares/find", idempotent=True, json={"token_hash": token_hash}
        )
        data = response.json()
        return None if data["share"] is None else Share.from_json(data["share"])

    async def count_download(self, share_id: str, now: datetime) -> bool:
        response = await self._call(
            "POST", f"/shares/{share_id}/count", idempotent=False, json={"now": now.isoformat()}
        )
        return bool(response.json()["counted"])

    async def reserve_login_attempt(self, keys: list[str], limits: list[int], window: int) -> int:
        body = {"keys": keys, "limits": limits, "window": window}
        try:
            # Not retried: a retry of a reservation that was made would count it twice.
            response = await self._call("POST", "/limits/reserve", idempotent=False, json=body)
        except NotFound:
            # A metadata service of the last release (a rolling update): check, then count
            # at once (close to a reservation, but not atomic).
            response = await self._call("POST", "/limits/check", idempotent=True, json=body)
            wait = int(response.json()["retry_after"])
            if not wait:
                body = {"keys": keys, "window": window}
                await self._call("POST", "/limits/fail", idempotent=False, json=body)
            return wait
        return int(response.json()["retry_after"])

    async def release_login_attempt(self, uncount: list[str], reset: list[str]) -> None:
        body = {"uncount": uncount, "reset": reset}
        try:
            await self._call("POST", "/limits/release", idempotent=False, json=body)
        except NotFound:
            # The last release's metadata service can only start counters again.
            if reset:
                await self._call("POST", "/limits/clear", idempotent=True, json={"keys": reset})

    async def ping(self) -> None:
        await self._call("GET", "/ready", idempotent=False)

    async def iter_all(self) -> AsyncIterator[FileRecord]:
        cursor = None
        while True:
            page = await self.list(None, ListQuery(limit=1000, cursor=cursor, sort=SortKey.name))
            for record in page.items:
                yield record
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
