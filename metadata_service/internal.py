"""``/internal/v1``: the catalog over HTTP for the other services (service token only).

Paths, bodies and answers are the models of ``filebay.catalog.remote.wire``, which the
client (``filebay.catalog.remote.client.HttpCatalog``) uses too."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from filebay.catalog.files import ListQuery
from filebay.catalog.remote import wire
from filebay.catalog.remote.wire import Instant
from filebay.errors import BadRequest, CatalogUnavailable, Unauthorized
from filebay.http.bodies import read_json
from filebay.http.deps import CatalogDep, DirectoryDep, SharesDep, UploadsDep, get_runtime
from filebay.http.limits import OwnBody
from filebay.http.listing import list_query
from filebay.upkeep.identity import readiness, sql_deployment


async def require_service_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    expected = request.app.state.service_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("service token required")


router = APIRouter(
    prefix=wire.PREFIX, dependencies=[Depends(require_service_token)], include_in_schema=False
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


@router.post(wire.FILES, status_code=201)
async def add(body: wire.AddBody, catalog: CatalogDep) -> wire.FileOut:
    return wire.FileOut.of(await catalog.add(body.new_file(), body.quota()))


@router.post(wire.FILES_BATCH, status_code=201)
async def add_many(body: wire.AddManyBody, catalog: CatalogDep) -> wire.FilesOut:
    owners = {f.owner for f in body.files}
    if len(owners) != 1:
        raise BadRequest("one owner per batch")
    records = await catalog.add_many([f.new_file() for f in body.files], body.quota())
    return wire.FilesOut.model_construct(files=[wire.FileOut.of(r) for r in records])


@router.post(wire.FOLDERS_ENSURE)
async def ensure_folders(body: wire.EnsureFoldersBody, catalog: CatalogDep) -> wire.FolderIdOut:
    folder_id = await catalog.ensure_folders(body.owner, body.parent_id, body.names)
    return wire.FolderIdOut.model_construct(id=folder_id)


@router.get(wire.OWNERS)
async def owners(catalog: CatalogDep) -> wire.OwnersOut:
    return wire.OwnersOut.model_construct(owners=await catalog.owners())


@router.get(wire.USAGE)
async def usage(catalog: CatalogDep, owner: Annotated[str, Query(max_length=64)]) -> wire.UsageOut:
    return wire.UsageOut.model_construct(bytes=await catalog.usage(owner))


@router.post(wire.AUTH_SESSION)
async def session_user(body: wire.SessionLookup, directory: DirectoryDep) -> wire.MaybeUserOut:
    return wire.MaybeUserOut.of(await directory.session_user(body.username, body.session_hash))


@router.post(wire.AUTH_API_TOKEN)
async def api_token_user(body: wire.TokenLookup, directory: DirectoryDep) -> wire.MaybeUserOut:
    return wire.MaybeUserOut.of(await directory.resolve_api_token(body.token_hash))


@router.get(wire.FILES)
async def list_(
    catalog: CatalogDep, scope: Scope, query: Annotated[ListQuery, Depends(list_query)]
) -> wire.PageOut:
    page = await catalog.list(scope, query)
    items = [wire.FileOut.of(r) for r in page.items]
    return wire.PageOut.model_construct(items=items, next_cursor=page.next_cursor)


@router.get(wire.FILE)
async def get(file_id: str, catalog: CatalogDep, scope: Scope) -> wire.FileOut:
    return wire.FileOut.of(await catalog.get(file_id, scope))


@router.patch(wire.FILE)
async def rename(
    file_id: str, body: wire.RenameBody, catalog: CatalogDep, scope: Scope
) -> wire.FileOut:
    return wire.FileOut.of(await catalog.rename(file_id, scope, body.name))


@router.delete(wire.FILE)
async def delete(file_id: str, catalog: CatalogDep, scope: Scope) -> wire.FileOut:
    return wire.FileOut.of(await catalog.delete(file_id, scope))


@router.post(wire.UPLOADS, status_code=201)
async def create_upload(body: wire.UploadBody, uploads: UploadsDep) -> wire.CreatedOut:
    await uploads.create_upload(body.session(), body.quota())
    return wire.CreatedOut.model_construct(id=body.id)


@router.get(wire.UPLOAD)
async def get_upload(upload_id: str, uploads: UploadsDep, scope: Scope) -> wire.UploadOut:
    return wire.UploadOut.of(await uploads.get_upload(upload_id, scope))


@router.post(wire.UPLOAD_LOCK)
async def lock_upload(upload_id: str, body: wire.LockBody, uploads: UploadsDep) -> wire.UploadOut:
    session = await uploads.lock_upload(upload_id, body.owner, body.token, body.lease_seconds)
    return wire.UploadOut.of(session)


@router.post(wire.UPLOAD_RENEW, status_code=204)
async def renew_lock(upload_id: str, body: wire.RenewBody, uploads: UploadsDep) -> Response:
    await uploads.renew_lock(upload_id, body.token, body.lease_seconds)
    return Response(status_code=204)


@router.post(wire.UPLOAD_ADVANCE, status_code=204)
async def advance_upload(upload_id: str, body: wire.AdvanceBody, uploads: UploadsDep) -> Response:
    await uploads.advance_upload(
        upload_id, body.token, body.offset, body.expires_at, release=body.release
    )
    return Response(status_code=204)


@router.post(wire.UPLOAD_UNLOCK, status_code=204)
async def unlock_upload(upload_id: str, body: wire.UnlockBody, uploads: UploadsDep) -> Response:
    await uploads.unlock_upload(upload_id, body.token)
    return Response(status_code=204)


@router.delete(wire.UPLOAD, status_code=204)
async def delete_upload(upload_id: str, uploads: UploadsDep, scope: Scope) -> Response:
    await uploads.delete_upload(upload_id, scope)
    return Response(status_code=204)


@router.get(wire.UPLOADS_COUNT)
async def count_uploads(uploads: UploadsDep) -> wire.CountOut:
    return wire.CountOut.model_construct(count=await uploads.count_uploads())


@router.get(wire.UPLOADS_EXPIRED)
async def expired_uploads(
    uploads: UploadsDep,
    now: Instant,
    limit: Annotated[int, Query(ge=1, le=wire.MAX_EXPIRED)] = 100,
) -> wire.UploadsOut:
    items = [wire.UploadOut.of(s) for s in await uploads.expired_uploads(now, limit)]
    return wire.UploadsOut.model_construct(items=items)


@router.post(wire.SHARES_FIND)
async def find_share(body: wire.TokenLookup, shares: SharesDep) -> wire.MaybeShareOut:
    return wire.MaybeShareOut.of(await shares.find_share(body.token_hash))


@router.post(wire.SHARE_COUNT)
async def count_download(share_id: str, body: wire.CountBody, shares: SharesDep) -> wire.CountedOut:
    return wire.CountedOut.model_construct(counted=await shares.count_download(share_id, body.now))


@router.post(wire.LIMITS_RESERVE)
async def limit_reserve(body: wire.ReserveBody, directory: DirectoryDep) -> wire.RetryAfterOut:
    if len(body.keys) != len(body.limits):
        raise BadRequest("one limit per key")
    wait = await directory.reserve_login_attempt(body.keys, body.limits, body.window)
    return wire.RetryAfterOut.model_construct(retry_after=wait)


@router.post(wire.LIMITS_RELEASE, status_code=204)
async def limit_release(body: wire.ReleaseBody, directory: DirectoryDep) -> Response:
    await directory.release_login_attempt(body.uncount, body.reset)
    return Response(status_code=204)


#: Internal bodies that may pass the edge's JSON limit (a zip selection of 100,000 ids); read
#: by their routes after the service token was checked (``filebay.http.bodies``).
OWN_BODY = (
    OwnBody(wire.PREFIX + wire.ARCHIVE_SELECT, method="POST"),
    OwnBody(wire.PREFIX + wire.ZIP_LINKS, method="POST"),
)
BIG_BODY = 8 * 1024 * 1024


@router.post(wire.ARCHIVE_SELECT)
async def select(request: Request, catalog: CatalogDep) -> wire.SelectionOut:
    body = await read_json(request, wire.SelectBody, BIG_BODY)
    selection = await catalog.select(body.owner, body.file_ids, body.folder_ids)
    return wire.SelectionOut.of(selection)


@router.post(wire.FILE_CRC32, status_code=204)
async def set_crc32(file_id: str, body: wire.Crc32Body, catalog: CatalogDep) -> Response:
    await catalog.set_crc32(file_id, body.crc32)
    return Response(status_code=204)


@router.post(wire.ZIP_LINKS, status_code=204)
async def create_zip_link(request: Request, catalog: CatalogDep) -> Response:
    body = await read_json(request, wire.ZipLinkBody, BIG_BODY)
    await catalog.create_zip_link(body.token_hash, body.link())
    return Response(status_code=204)


@router.post(wire.ZIP_LINK_FIND)
async def find_zip_link(body: wire.ZipLinkLookup, catalog: CatalogDep) -> wire.MaybeZipLinkOut:
    return wire.MaybeZipLinkOut.of(await catalog.find_zip_link(body.token_hash, body.now))


@router.get(wire.READY)
async def ready(request: Request, catalog: CatalogDep) -> wire.ReadyOut:
    await catalog.ping()
    # The schema and the deployment identity too, so that the upload and download
    # services' /readyz answer 503 with the reason as this service's does.
    deployment = sql_deployment(catalog)
    if deployment is not None:
        checks = await readiness(deployment, get_runtime(request).store)
        problems = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
        if problems:
            raise CatalogUnavailable("metadata service not ready: " + "; ".join(problems))
    return wire.ReadyOut.model_construct(status="ok")
