"""Upload routes: multipart form and raw PUT (``curl -T``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect

from filebay.auth.principal import Principal
from filebay.catalog.files import Catalog, OnConflict
from filebay.catalog.folders import ROOT_WORD, folder_id_of
from filebay.config import Settings
from filebay.errors import BadRequest, ClientGone, TooLarge
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, StoreDep, get_runtime
from filebay.http.limits import OwnBody, paced
from filebay.http.openapi import AUTHENTICATED, errors
from filebay.http.records import record_json
from filebay.observability.metrics import BYTES_UPLOADED, UPLOADS_IN_PROGRESS
from filebay.storage.base import BlobStore
from filebay.transfer.uploader import Uploader

router = APIRouter(prefix="/api", tags=["upload"])


class _AnyName(Convertor[str]):
    """Like ``path``, but it also matches a newline (``%0A``): control characters in a name
    are cleaned away, not answered with 404 (Starlette's ``.*`` stops at a newline)."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anyname", _AnyName())

MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["file"],
                }
            }
        },
    }
}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _declared_length(request: Request, limit: int) -> int | None:
    """Refuse before reading when Content-Length already says too much."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("invalid Content-Length")
    if int(value) > limit:
        raise TooLarge()
    return int(value)


async def request_body(request: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives; a vanished client becomes ``ClientGone``."""
    settings = get_runtime(request).settings
    UPLOADS_IN_PROGRESS.inc()
    try:
        stream = paced(
            request.stream(),
            settings.body_idle_seconds,
            settings.min_upload_rate,
            settings.min_upload_rate_window,
        )
        async for chunk in stream:
            BYTES_UPLOADED.inc(len(chunk))
            yield chunk
    except ClientDisconnect as exc:
        raise ClientGone() from exc
    finally:
        UPLOADS_IN_PROGRESS.dec()


#: The upload routes stream and count their own bytes against FILEBAY_MAX_UPLOAD_BYTES: the
#: JSON body limit is not for them (any method under /api/upload/, as before).
OWN_BODY = (
    OwnBody("/api/upload/", prefix=True),
    # No name: answered 400 before any byte is read, not 413 by the JSON body limit.
    OwnBody("/api/upload", method="PUT"),
    OwnBody("/api/files", method="POST"),
)

FolderQuery = Annotated[
    str | None, Query(max_length=64, description="The folder to upload into ('root' too).")
]
ConflictQuery = Annotated[
    OnConflict, Query(description="When the name is taken: rename (a (1).txt), replace, fail.")
]


def _uploader(
    store: BlobStore,
    catalog: Catalog,
    principal: Principal,
    settings: Settings,
    folder_id: str | None,
    on_conflict: OnConflict,
) -> Uploader:
    return Uploader(
        store,
        catalog,
        principal.username,
        settings.max_upload_bytes,
        principal.quota,
        folder_id=folder_id_of(folder_id or ROOT_WORD),
        on_conflict=on_conflict,
    )


def _segments(request: Request) -> list[str]:
    """The names after ``/api/upload/``, split at the slashes the client wrote: an encoded
    ``%2F`` stays inside its name (and is cleaned there, as §5 says)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    tail = raw.split(b"?", 1)[0].split(b"/api/upload/", 1)[-1]
    return [unquote(p.decode("utf-8", "surrogateescape")) for p in tail.split(b"/")]


# What an upload may answer besides 201.
UPLOAD_ERRORS = errors(400, *AUTHENTICATED, 404, 408, 409, 413, 507)


@router.post(
    "/files",
    status_code=201,
    openapi_extra=MULTIPART_BODY,
    summary="Upload files",
    responses=UPLOAD_ERRORS,
)
async def upload_multipart(
    request: Request,
    store: StoreDep,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    folder_id: FolderQuery = None,
    on_conflict: ConflictQuery = OnConflict.rename,
) -> dict[str, Any]:
    """multipart/form-data with one or more parts named ``file``."""
    uploader = _uploader(store, catalog, principal, settings, folder_id, on_conflict)
    limit = await uploader.check_quota()
    records = await uploader.multipart(
        request.headers.get("content-type"), request_body(request), limit=limit
    )
    return {"files": [record_json(r, settings) for r in records]}


@router.put("/upload", include_in_schema=False)
async def upload_without_name(_principal: PrincipalDep) -> None:
    """``curl -T file http://host/api/upload`` (no slash) sends no name: say so, instead of
    the 307 to ``/api/upload/`` that curl does not follow (it stored nothing, silently)."""
    raise BadRequest(
        "no file name: PUT to /api/upload/<name>, or end the URL with '/' "
        "so that curl -T appends the file's name"
    )


@router.put(
    "/upload/{name:anyname}",
    status_code=201,
    openapi_extra=RAW_BODY,
    summary="Upload a raw body",
    responses=UPLOAD_ERRORS,
)
async def upload_raw(
    name: str,
    request: Request,
    store: StoreDep,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    folder_id: FolderQuery = None,
    on_conflict: ConflictQuery = OnConflict.rename,
) -> dict[str, Any]:
    """The body is the file: ``curl -T report.pdf http://host/api/upload/``. More segments
    are folders, made where missing: ``PUT /api/upload/photos/2026/a.jpg``."""
    *folders, name = _segments(request)
    if not name:
        raise BadRequest("no file name: PUT to /api/upload/<name>")
    declared = _declared_length(request, settings.max_upload_bytes)
    uploader = _uploader(store, catalog, principal, settings, folder_id, on_conflict)
    limit = await uploader.check_quota(declared)
    # "." and ".." name no folder: a path never climbs; it is cleaned, as §5 has always
    # said of names (``../../a.txt`` is stored as ``a.txt``), not refused.
    await uploader.into_path([f for f in folders if f not in ("", ".", "..")])
    record = await uploader.put(
        name, request.headers.get("content-type"), request_body(request), limit=limit
    )
    return record_json(record, settings)
