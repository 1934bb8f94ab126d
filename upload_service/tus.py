"""tus 1.0.0 at ``/api/tus/``: core, creation, creation-with-upload, termination, checksum,
expiration. The upload id is the file id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from filebay.errors import (
    BadRequest,
    FilebayError,
    TooLarge,
    UnsupportedMediaType,
    UnsupportedVersion,
)
from filebay.http.deps import (
    CatalogDep,
    PrincipalDep,
    SettingsDep,
    StagingStoreDep,
    UploadsDep,
)
from filebay.http.limits import OwnBody
from filebay.http.openapi import AUTHENTICATED, errors
from filebay.transfer.ranges import http_date
from filebay.transfer.tus.headers import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    metadata_text,
    parse_checksum,
    parse_length,
    parse_metadata,
)
from filebay.transfer.tus.service import Progress, TusService
from upload_service.routes import request_body

router = APIRouter(prefix="/api/tus", tags=["tus"])

TusResumable = Annotated[str | None, Header(alias="Tus-Resumable")]


async def _service(
    store: StagingStoreDep, catalog: CatalogDep, uploads: UploadsDep, settings: SettingsDep
) -> TusService:
    return TusService(
        store,
        catalog,
        uploads,
        max_size=settings.max_upload_bytes,
        expiry_seconds=settings.tus_expiry_seconds,
    )


TusDep = Annotated[TusService, Depends(_service)]

#: A PATCH (and a POST with creation-with-upload) counts its own bytes against the upload's
#: length: the JSON body limit is not for these.
OWN_BODY = (OwnBody(router.prefix, prefix=True),)


def error_headers(request: Request, exc: FilebayError, response: Response) -> None:
    """tus clients look for these on every answer, errors included."""
    if request.url.path.startswith(router.prefix):
        response.headers["Tus-Resumable"] = TUS_VERSION
        if isinstance(exc, UnsupportedVersion):
            response.headers["Tus-Version"] = TUS_VERSION


def _require_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise UnsupportedVersion()


def _require_offset_stream(content_type: str | None) -> None:
    if (content_type or "").split(";")[0].strip() != OFFSET_CONTENT_TYPE:
        raise UnsupportedMediaType()


def _progress_headers(progress: Progress) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(progress.offset)}
    if progress.expires_at is not None:
        headers["Upload-Expires"] = http_date(progress.expires_at)
    return headers


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return None if value is None else parse_length(value, "Content-Length")


@router.options("/", include_in_schema=False)
@router.options("/{upload_id}", include_in_schema=False)
async def options(settings: SettingsDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@router.post(
    "/",
    status_code=201,
    summary="Create a resumable upload (tus creation)",
    response_class=Response,
    responses=errors(400, *AUTHENTICATED, 408, 412, 413, 415, 460, 507),
)
async def create(
    request: Request,
    principal: PrincipalDep,
    tus: TusDep,
    tus_resumable: TusResumable = None,
    upload_length: Annotated[str | None, Header(alias="Upload-Length")] = None,
    upload_metadata: Annotated[str | None, Header(alias="Upload-Metadata")] = None,
    upload_checksum: Annotated[str | None, Header(alias="Upload-Checksum")] = None,
    content_type: Annotated[str | None, Header(alias="Content-Type")] = None,
) -> Response:
    _require_version(tus_resumable)
    if request.headers.get("upload-defer-length") is not None:
        raise BadRequest("Upload-Defer-Length is not supported; send Upload-Length")
    length = parse_length(upload_length, "Upload-Length")
    metadata = parse_metadata(upload_metadata)
    checksum = parse_checksum(upload_checksum)
    declared = _content_length(request)
    has_body = declared != 0 and (
        declared is not None or "chunked" in request.headers.get("transfer-encoding", "")
    )
    # What can be refused up front is, before an upload exists that nobody could resume.
    if has_body:
        _require_offset_stream(content_type)
        if declared is not None and declared > length:
            raise TooLarge("the body goes past Upload-Length")
    session = await tus.create(
        principal.username,
        principal.quota,
        length,
        # Uppy's relativePath names the file when nothing else does.
        metadata_text(metadata, "filename", "name")
        or (metadata_text(metadata, "relativePath") or "").rsplit("/", 1)[-1],
        metadata_text(metadata, "filetype", "type"),
        upload_metadata or "",
    )
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Location": f"{request.url.path.rstrip('/')}/{session.id}",
        "Upload-Expires": http_date(session.expires_at),
    }
    if has_body or length == 0:
        # creation-with-upload (or an empty file, complete at once)
        try:
            progress = await tus.append(
                session.id,
                principal.username,
                principal.quota,
                0,
                checksum,
                declared,
                request_body(request),
            )
        except BaseException:
            # A failed answer carries no Location: no client could resume or end this upload,
            # so it goes now instead of holding staged bytes and quota until it expires.
            await tus.discard(session.id, principal.username)
            raise
        headers.update(_progress_headers(progress))
    return Response(status_code=201, headers=headers)


@router.head(
    "/{upload_id}",
    summary="Offset of a resumable upload",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404, 410, 412),
)
async def head(
    upload_id: str,
    principal: PrincipalDep,
    tus: TusDep,
    tus_resumable: TusResumable = None,
) -> Response:
    _require_version(tus_resumable)
    progress, metadata = await tus.status(upload_id, principal.scope, principal.quota)
    headers = _progress_headers(progress)
    headers["Upload-Length"] = str(progress.length)
    headers["Cache-Control"] = "no-store"
    if metadata:
        headers["Upload-Metadata"] = metadata
    return Response(status_code=200, headers=headers)


@router.patch(
    "/{upload_id}",
    status_code=204,
    summary="Append to a resumable upload",
    response_class=Response,
    responses=errors(400, *AUTHENTICATED, 404, 408, 409, 410, 412, 413, 415, 423, 460, 507),
)
async def patch(
    upload_id: str,
    request: Request,
    principal: PrincipalDep,
    tus: TusDep,
    tus_resumable: TusResumable = None,
    upload_offset: Annotated[str | None, Header(alias="Upload-Offset")] = None,
    upload_checksum: Annotated[str | None, Header(alias="Upload-Checksum")] = None,
    content_type: Annotated[str | None, Header(alias="Content-Type")] = None,
) -> Response:
    _require_version(tus_resumable)
    _require_offset_stream(content_type)
    offset = parse_length(upload_offset, "Upload-Offset")
    progress = await tus.append(
        upload_id,
        principal.username,
        principal.quota,
        offset,
        parse_checksum(upload_checksum),
        _content_length(request),
        request_body(request),
    )
    return Response(status_code=204, headers=_progress_headers(progress))


@router.delete(
    "/{upload_id}",
    status_code=204,
    summary="Cancel a resumable upload (termination)",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404, 412, 423),
)
async def terminate(
    upload_id: str,
    principal: PrincipalDep,
    tus: TusDep,
    tus_resumable: TusResumable = None,
) -> Response:
    _require_version(tus_resumable)
    await tus.terminate(upload_id, principal.scope)
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})
