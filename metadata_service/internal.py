"""``/internal/v1``: the catalog over HTTP for the other services (service token only)."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from filebay.catalog.files import FileRecord, ListQuery, NewFile
from filebay.catalog.quota import Quota
from filebay.catalog.uploads import UploadSession
from filebay.errors import BadRequest, CatalogUnavailable, Unauthorized
from filebay.http.deps import CatalogDep, DirectoryDep, SharesDep, UploadsDep, get_services
from filebay.http.listing import list_query
from filebay.orphans import readiness, sql_deployment


async def require_service_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    expected = request.app.state.service_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("service token required")


router = APIRouter(
    prefix="/internal/v1", dependencies=[Depends(require_service_token)], include_in_schema=False
)


async def owner_scope(
    owner: Annotated[str | None, Query(max_length=64)] = None,
    all: Annotated[bool, Query()] = False,
) -> str | None:
    # Explicit "all": a forgotten owner parameter must not widen the scope to everyone.
    if all:
        return None
    if not owner:
        raise BadRequest("owner or all=1 required")
    return owner


Scope = Annotated[str | None, Depends(owner_scope)]


class NewFileBody(BaseModel):
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    owner: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)
    content_type: str = Field(max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob_key: str = Field(max_length=64)


class QuotaFields(BaseModel):
    """The owner's quota, as the calling service knows it (absent: no limit)."""

    quota_bytes: int | None = Field(None, ge=0)
    quota_files: int | None = Field(None, ge=0)

    def quota(self) -> Quota | None:
        return Quota.of(self.quota_bytes, self.quota_files)


class AddBody(NewFileBody, QuotaFields):
    pass


class AddManyBody(QuotaFields):
    #: A multipart upload's files (the public endpoint caps a request's parts too).
    files: list[NewFileBody] = Field(min_length=1, max_length=10_000)


class SessionQuery(BaseModel):
    username: str = Field(max_length=64)
    session_hash: str = Field(max_length=64)


class TokenQuery(BaseModel):
    token_hash: str = Field(max_length=64)


class RenameBody(BaseModel):
    name: str = Field(min_length=1, max_length=1024)


def _full(record: FileRecord) -> dict[str, Any]:
    return record.to_json()


@router.post("/files", status_code=201)
async def add(body: AddBody, catalog: CatalogDep) -> dict[str, Any]:
    fields = body.model_dump(exclude={"quota_bytes", "quota_files"})
    return _full(await catalog.add(NewFile(**fields), body.quota()))


@router.post("/files/batch", status_code=201)
async def add_many(body: AddManyBody, catalog: CatalogDep) -> dict[str, Any]:
    owners = {f.owner for f in body.files}
    if len(owners) != 1:
        raise BadRequest("one owner per batch")
    news = [NewFile(**f.model_dump()) for f in body.files]
    return {"files": [_full(r) for r in await catalog.add_many(news, body.quota())]}


@router.get("/owners")
async def owners(catalog: CatalogDep) -> dict[str, list[str]]:
    return {"owners": await catalog.owners()}


@router.get("/usage")
async def usage(catalog: CatalogDep, owner: Annotated[str, Query(max_length=64)]) -> dict[str, int]:
    return {"bytes": await catalog.usage(owner)}


@router.post("/auth/session")
async def session_user(body: SessionQuery, directory: DirectoryDep) -> dict[str, Any]:
    user = await directory.session_user(body.username, body.session_hash)
    return {"user": None if user is None else user.to_json()}


@router.post("/auth/api-token")
async def api_token_user(body: TokenQuery, directory: DirectoryDep) -> dict[str, Any]:
    user = await directory.resolve_api_token(body.token_hash)
    return {"user": None if user is None else user.to_json()}


@router.get("/files")
async def list_(
    catalog: CatalogDep, scope: Scope, query: Annotated[ListQuery, Depends(list_query)]
) -> dict[str, Any]:
    page = await catalog.list(scope, query)
    return {"items": [_full(r) for r in page.items], "next_cursor": page.next_cursor}


@router.get("/files/{file_id}")
async def get(file_id: str, catalog: CatalogDep, scope: Scope) -> dict[str, Any]:
    return _full(await catalog.get(file_id, scope))


@router.patch("/files/{file_id}")
async def rename(
    file_id: str, body: RenameBody, catalog: CatalogDep, scope: Scope
) -> dict[str, Any]:
    return _full(await catalog.rename(file_id, scope, body.name))


@router.delete("/files/{file_id}")
async def delete(file_id: str, catalog: CatalogDep, scope: Scope) -> dict[str, Any]:
    return _full(await catalog.delete(file_id, scope))


class LockBody(BaseModel):
    owner: str = Field(max_length=64)
    token: str = Field(max_length=32)
    lease_seconds: int = Field(ge=1, le=3600)


class RenewBody(BaseModel):
    token: str = Field(max_length=32)
    lease_seconds: int = Field(ge=1, le=3600)


class AdvanceBody(BaseModel):
    token: str = Field(max_length=32)
    offset: int = Field(ge=0)
    expires_at: datetime
    release: bool = False


class TokenOnly(BaseModel):
    token: str = Field(max_length=32)


class UploadBody(QuotaFields):
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    owner: str = Field(min_length=1, max_length=64)
    length: int = Field(ge=0)
    offset: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(max_length=255)
    metadata_header: str = Field(max_length=8192)
    created_at: datetime
    expires_at: datetime


@router.post("/uploads", status_code=201)
async def create_upload(body: UploadBody, uploads: UploadsDep) -> dict[str, str]:
    fields = body.model_dump(exclude={"quota_bytes", "quota_files"})
    await uploads.create_upload(UploadSession(**fields), body.quota())
    return {"id": body.id}


@router.get("/uploads/{upload_id}")
async def get_upload(upload_id: str, uploads: UploadsDep, scope: Scope) -> dict[str, Any]:
    return (await uploads.get_upload(upload_id, scope)).to_json()


@router.post("/uploads/{upload_id}/lock")
async def lock_upload(upload_id: str, body: LockBody, uploads: UploadsDep) -> dict[str, Any]:
    session = await uploads.lock_upload(upload_id, body.owner, body.token, body.lease_seconds)
    return session.to_json()


@router.post("/uploads/{upload_id}/renew", status_code=204)
async def renew_lock(upload_id: str, body: RenewBody, uploads: UploadsDep) -> Response:
    await uploads.renew_lock(upload_id, body.token, body.lease_seconds)
    return Response(status_code=204)


@router.post("/uploads/{upload_id}/advance", status_code=204)
async def advance_upload(upload_id: str, body: AdvanceBody, uploads: UploadsDep) -> Response:
    await uploads.advance_upload(
        upload_id, body.token, body.offset, body.expires_at, release=body.release
    )
    return Response(status_code=204)


@router.post("/uploads/{upload_id}/unlock", status_code=204)
async def unlock_upload(upload_id: str, body: TokenOnly, uploads: UploadsDep) -> Response:
    await uploads.unlock_upload(upload_id, body.token)
    return Response(status_code=204)


@router.delete("/uploads/{upload_id}", status_code=204)
async def delete_upload(upload_id: str, uploads: UploadsDep, scope: Scope) -> Response:
    await uploads.delete_upload(upload_id, scope)
    return Response(status_code=204)


@router.get("/uploads-count")
async def count_uploads(uploads: UploadsDep) -> dict[str, int]:
    return {"count": await uploads.count_uploads()}


@router.get("/uploads-expired")
async def expired_uploads(
    uploads: UploadsDep, now: datetime, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    return {"items": [s.to_json() for s in await uploads.expired_uploads(now, limit)]}


class FindShareBody(BaseModel):
    token_hash: str = Field(max_length=64)


class CountBody(BaseModel):
    now: datetime


class LimitReserveBody(BaseModel):
    keys: list[Annotated[str, Field(max_length=200)]] = Field(min_length=1, max_length=4)
    limits: list[Annotated[int, Field(ge=0)]] = Field(min_length=1, max_length=4)
    window: int = Field(ge=1)


class LimitCheckBody(BaseModel):
    keys: list[str] = Field(max_length=4)
    limits: list[int] = Field(max_length=4)
    window: int = Field(ge=1)


class LimitReleaseBody(BaseModel):
    uncount: list[Annotated[str, Field(max_length=200)]] = Field(max_length=4)
    reset: list[Annotated[str, Field(max_length=200)]] = Field(max_length=4)


class LimitFailBody(BaseModel):
    keys: list[str] = Field(max_length=4)
    window: int = Field(ge=1)


class LimitClearBody(BaseModel):
    keys: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=4)
    # What a service of an earlier release sends (one key): accepted during a rolling update.
    key: str | None = Field(None, max_length=200)


@router.post("/shares/find")
async def find_share(body: FindShareBody, shares: SharesDep) -> dict[str, Any]:
    share = await shares.find_share(body.token_hash)
    return {"share": None if share is None else share.to_json()}


@router.post("/shares/{share_id}/count")
async def count_download(share_id: str, body: CountBody, shares: SharesDep) -> dict[str, bool]:
    return {"counted": await shares.count_download(share_id, body.now)}


@router.post("/limits/reserve")
async def limit_reserve(body: LimitReserveBody, directory: DirectoryDep) -> dict[str, int]:
    if len(body.keys) != len(body.limits):
        raise BadRequest("one limit per key")
    wait = await directory.reserve_login_attempt(body.keys, body.limits, body.window)
    return {"retry_after": wait}


@router.post("/limits/release", status_code=204)
async def limit_release(body: LimitReleaseBody, directory: DirectoryDep) -> Response:
    await directory.release_login_attempt(body.uncount, body.reset)
    return Response(status_code=204)


# The read-then-record calls of the last release's services (served during a rolling update).


@router.post("/limits/check")
async def limit_check(body: LimitCheckBody, directory: DirectoryDep) -> dict[str, int]:
    wait = await directory.login_retry_after(body.keys, body.limits, body.window)
    return {"retry_after": wait}


@router.post("/limits/fail", status_code=204)
async def limit_fail(body: LimitFailBody, directory: DirectoryDep) -> Response:
    await directory.record_login_failure(body.keys, body.window)
    return Response(status_code=204)


@router.post("/limits/clear", status_code=204)
async def limit_clear(body: LimitClearBody, directory: DirectoryDep) -> Response:
    await directory.clear_login_failures([*body.keys, *([body.key] if body.key else [])])
    return Response(status_code=204)


@router.get("/ready")
async def ready(request: Request, catalog: CatalogDep) -> dict[str, str]:
    await catalog.ping()
    # The schema and the deployment identity too, so that the upload and download
    # services' /readyz answer 503 with the reason as this service's does.
    deployment = sql_deployment(catalog)
    if deployment is not None:
        checks = await readiness(deployment, get_services(request).store)
        problems = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
        if problems:
            raise CatalogUnavailable("metadata service not ready: " + "; ".join(problems))
    return {"status": "ok"}
