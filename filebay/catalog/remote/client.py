"""The catalog as a client of the metadata service (split shape): same contract over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TypeVar

import httpx
from pydantic import BaseModel

from filebay.catalog.archives import Selection, ZipLink
from filebay.catalog.files import FileRecord, ListQuery, NewFile, Page, SortKey
from filebay.catalog.quota import Quota
from filebay.catalog.remote import wire
from filebay.catalog.shares import Share
from filebay.catalog.uploads import UploadSession
from filebay.catalog.users import User
from filebay.errors import (
    CatalogOutcomeUnknown,
    CatalogUnavailable,
    FilebayError,
    InvalidCursor,
    NameTaken,
    NotFound,
    QuotaExceeded,
    UploadLocked,
)
from filebay.ids import is_valid_id
from filebay.observability.context import REQUEST_ID_HEADER, request_id
from filebay.observability.metrics import CATALOG_RETRIES

# Reads are retried on connection failures; writes are not (they may have happened).
RETRIES = 2
RETRY_DELAY = 0.2
# Transport errors after which the request surely never reached the metadata service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_JSON = {"Content-Type": "application/json"}

Out = TypeVar("Out", bound=BaseModel)


class HttpCatalog:
    """Talks to ``/internal/v1`` of the metadata service with the service token; every
    body and answer is a model of ``filebay.catalog.remote.wire``."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + wire.PREFIX,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        body: BaseModel | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        content = None if body is None else body.model_dump_json()
        attempts = RETRIES + 1 if idempotent else 1
        for attempt in range(attempts):
            rid = request_id.get()
            headers = {} if body is None else dict(_JSON)
            if rid:
                headers[REQUEST_ID_HEADER] = rid
            try:
                response = await self._client.request(
                    method, path, headers=headers, content=content, params=params
                )
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

    async def _call(
        self,
        answer: type[Out],
        method: str,
        path: str,
        *,
        idempotent: bool,
        body: BaseModel | None = None,
        params: dict[str, str] | None = None,
    ) -> Out:
        """Send, and parse the answer with its wire model."""
        response = await self._send(method, path, idempotent=idempotent, body=body, params=params)
        return answer.model_validate_json(response.content)

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
        if code == "name_taken":
            raise NameTaken(response.json().get("existing_id", ""), detail)
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
        body = wire.AddBody.of_file(new, quota)
        out = await self._call(wire.FileOut, "POST", wire.FILES, idempotent=False, body=body)
        return out.record()

    async def add_many(self, news: list[NewFile], quota: Quota | None = None) -> list[FileRecord]:
        if not news:
            return []
        body = wire.AddManyBody.of(news, quota)
        out = await self._call(wire.FilesOut, "POST", wire.FILES_BATCH, idempotent=False, body=body)
        return [item.record() for item in out.files]

    async def ensure_folders(self, owner: str, parent_id: str, names: list[str]) -> str:
        if not names:
            return parent_id
        body = wire.EnsureFoldersBody.model_construct(owner=owner, parent_id=parent_id, names=names)
        # Not retried: the folders may have been made; the caller's next try finds them.
        out = await self._call(
            wire.FolderIdOut, "POST", wire.FOLDERS_ENSURE, idempotent=False, body=body
        )
        return out.id

    async def owners(self) -> list[str]:
        return (await self._call(wire.OwnersOut, "GET", wire.OWNERS, idempotent=True)).owners

    async def usage(self, owner: str) -> int:
        params = {"owner": owner}
        out = await self._call(wire.UsageOut, "GET", wire.USAGE, idempotent=True, params=params)
        return out.bytes

    async def session_user(self, username: str, session_hash: str) -> User | None:
        body = wire.SessionLookup.model_construct(username=username, session_hash=session_hash)
        out = await self._call(
            wire.MaybeUserOut, "POST", wire.AUTH_SESSION, idempotent=True, body=body
        )
        return None if out.user is None else out.user.user()

    async def resolve_api_token(self, token_hash: str) -> User | None:
        body = wire.TokenLookup.model_construct(token_hash=token_hash)
        out = await self._call(
            wire.MaybeUserOut, "POST", wire.AUTH_API_TOKEN, idempotent=True, body=body
        )
        return None if out.user is None else out.user.user()

    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        path = wire.FILE.format(file_id=file_id)
        params = wire.owner_params(owner)
        out = await self._call(wire.FileOut, "GET", path, idempotent=True, params=params)
        return out.record()

    async def list(self, owner: str | None, query: ListQuery) -> Page:
        params = wire.list_params(owner, query)
        out = await self._call(wire.PageOut, "GET", wire.FILES, idempotent=True, params=params)
        return Page([item.record() for item in out.items], out.next_cursor)

    async def rename(self, file_id: str, owner: str | None, name: str) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        out = await self._call(
            wire.FileOut,
            "PATCH",
            wire.FILE.format(file_id=file_id),
            idempotent=True,
            params=wire.owner_params(owner),
            body=wire.RenameBody.model_construct(name=name),
        )
        return out.record()

    async def delete(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()
        path = wire.FILE.format(file_id=file_id)
        params = wire.owner_params(owner)
        out = await self._call(wire.FileOut, "DELETE", path, idempotent=False, params=params)
        return out.record()

    async def create_upload(self, session: UploadSession, quota: Quota | None = None) -> None:
        body = wire.UploadBody.of(session, quota)
        await self._call(wire.CreatedOut, "POST", wire.UPLOADS, idempotent=False, body=body)

    async def get_upload(self, upload_id: str, owner: str | None) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        path = wire.UPLOAD.format(upload_id=upload_id)
        params = wire.owner_params(owner)
        out = await self._call(wire.UploadOut, "GET", path, idempotent=True, params=params)
        return out.session()

    async def lock_upload(
        self, upload_id: str, owner: str, token: str, lease_seconds: int
    ) -> UploadSession:
        if not is_valid_id(upload_id):
            raise NotFound()
        body = wire.LockBody.model_construct(owner=owner, token=token, lease_seconds=lease_seconds)
        path = wire.UPLOAD_LOCK.format(upload_id=upload_id)
        out = await self._call(wire.UploadOut, "POST", path, idempotent=False, body=body)
        return out.session()

    async def renew_lock(self, upload_id: str, token: str, lease_seconds: int) -> None:
        body = wire.RenewBody.model_construct(token=token, lease_seconds=lease_seconds)
        path = wire.UPLOAD_RENEW.format(upload_id=upload_id)
        await self._send("POST", path, idempotent=True, body=body)

    async def advance_upload(
        self, upload_id: str, token: str, offset: int, expires_at: datetime, release: bool = False
    ) -> None:
        body = wire.AdvanceBody.model_construct(
            token=token, offset=offset, expires_at=expires_at, release=release
        )
        path = wire.UPLOAD_ADVANCE.format(upload_id=upload_id)
        await self._send("POST", path, idempotent=True, body=body)

    async def unlock_upload(self, upload_id: str, token: str) -> None:
        body = wire.UnlockBody.model_construct(token=token)
        path = wire.UPLOAD_UNLOCK.format(upload_id=upload_id)
        await self._send("POST", path, idempotent=True, body=body)

    async def delete_upload(self, upload_id: str, owner: str | None) -> None:
        if not is_valid_id(upload_id):
            return
        path = wire.UPLOAD.format(upload_id=upload_id)
        await self._send("DELETE", path, idempotent=True, params=wire.owner_params(owner))

    async def expired_uploads(self, now: datetime, limit: int) -> list[UploadSession]:
        params = wire.expired_params(now, limit)
        out = await self._call(
            wire.UploadsOut, "GET", wire.UPLOADS_EXPIRED, idempotent=True, params=params
        )
        return [item.session() for item in out.items]

    async def count_uploads(self) -> int:
        return (await self._call(wire.CountOut, "GET", wire.UPLOADS_COUNT, idempotent=True)).count

    async def find_share(self, token_hash: str) -> Share | None:
        body = wire.TokenLookup.model_construct(token_hash=token_hash)
        out = await self._call(
            wire.MaybeShareOut, "POST", wire.SHARES_FIND, idempotent=True, body=body
        )
        return None if out.share is None else out.share.share()

    async def count_download(self, share_id: str, now: datetime) -> bool:
        body = wire.CountBody.model_construct(now=now)
        path = wire.SHARE_COUNT.format(share_id=share_id)
        out = await self._call(wire.CountedOut, "POST", path, idempotent=False, body=body)
        return out.counted

    async def reserve_login_attempt(self, keys: list[str], limits: list[int], window: int) -> int:
        body = wire.ReserveBody.model_construct(keys=keys, limits=limits, window=window)
        # Not retried: a retry of a reservation that was made would count it twice.
        out = await self._call(
            wire.RetryAfterOut, "POST", wire.LIMITS_RESERVE, idempotent=False, body=body
        )
        return out.retry_after

    async def release_login_attempt(self, uncount: list[str], reset: list[str]) -> None:
        body = wire.ReleaseBody.model_construct(uncount=uncount, reset=reset)
        await self._send("POST", wire.LIMITS_RELEASE, idempotent=False, body=body)

    async def select(self, owner: str, file_ids: list[str], folder_ids: list[str]) -> Selection:
        body = wire.SelectBody.model_construct(
            owner=owner, file_ids=file_ids, folder_ids=folder_ids
        )
        out = await self._call(
            wire.SelectionOut, "POST", wire.ARCHIVE_SELECT, idempotent=True, body=body
        )
        return out.selection()

    async def set_crc32(self, file_id: str, crc32: int) -> None:
        if not is_valid_id(file_id):
            return
        body = wire.Crc32Body.model_construct(crc32=crc32)
        # Idempotent: it only fills in a missing value, always the same one.
        await self._send(
            "POST", wire.FILE_CRC32.format(file_id=file_id), idempotent=True, body=body
        )

    async def create_zip_link(self, token_hash: str, link: ZipLink) -> None:
        body = wire.ZipLinkBody.of(token_hash, link)
        await self._send("POST", wire.ZIP_LINKS, idempotent=False, body=body)

    async def find_zip_link(self, token_hash: str, now: datetime) -> ZipLink | None:
        body = wire.ZipLinkLookup.model_construct(token_hash=token_hash, now=now)
        out = await self._call(
            wire.MaybeZipLinkOut, "POST", wire.ZIP_LINK_FIND, idempotent=True, body=body
        )
        return out.zip_link()

    async def ping(self) -> None:
        await self._send("GET", wire.READY, idempotent=False)

    async def iter_all(self) -> AsyncIterator[FileRecord]:
        cursor = None
        while True:
            page = await self.list(None, ListQuery(limit=1000, cursor=cursor, sort=SortKey.name))
            for record in page.items:
                yield record
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
