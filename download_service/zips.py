"""Zip downloads: a folder (``GET /api/folders/{id}/zip``) or a selection (``POST
/api/zip`` → a link GET-able by its owner for 24 hours). Range and If-Range work anywhere."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from filebay.archive.build import build_archive
from filebay.archive.response import zip_response
from filebay.catalog.archives import MAX_SELECTION, ZipLink
from filebay.catalog.folders import folder_id_of
from filebay.errors import BadRequest, NotFound
from filebay.http.bodies import read_json
from filebay.http.deps import CatalogDep, PrincipalDep, StoreDep
from filebay.http.limits import OwnBody
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, content_responses, errors
from filebay.ids import is_valid_id
from filebay.sharing.links import new_share_token

router = APIRouter(prefix="/api", tags=["download"])

LINK_LIFETIME = timedelta(hours=24)
#: ``POST /api/zip`` bodies: room for ``MAX_SELECTION`` ids and then some.
MAX_BODY = 8 * 1024 * 1024
#: What these routes ask of the HTTP edge: ``POST /api/zip`` counts its own body.
OWN_BODY = (OwnBody("/api/zip", method="POST"),)
ZIP_RESPONSES = {**content_responses(), **errors(*AUTHENTICATED, 404)}


class ZipSelection(BaseModel):
    file_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list)
    folder_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _selection(body: ZipSelection) -> tuple[list[str], list[str]]:
    count = len(body.file_ids) + len(body.folder_ids)
    if count == 0:
        raise BadRequest("select at least one file or folder")
    if count > MAX_SELECTION:
        raise BadRequest(f"a zip holds at most {MAX_SELECTION} selected ids")
    if not all(is_valid_id(i) for i in body.file_ids):
        raise NotFound()
    return list(body.file_ids), [folder_id_of(f) for f in body.folder_ids]


def _headers(request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "range_header": request.headers.get("range"),
        "if_range": request.headers.get("if-range"),
        "if_none_match": request.headers.get("if-none-match"),
    }


@router.get(
    "/folders/{folder_id}/zip",
    summary="A folder as a zip",
    response_class=Response,
    responses=ZIP_RESPONSES,
)
@router.head(
    "/folders/{folder_id}/zip",
    summary="A folder zip's headers",
    response_class=Response,
    responses=ZIP_RESPONSES,
)
async def folder_zip(
    folder_id: str,
    request: Request,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
) -> Response:
    target = folder_id_of(folder_id)
    archive = await build_archive(catalog, store, principal.username, [], [target])
    name = (target and archive.top) or "files"
    return zip_response(archive, store, filename=f"{name}.zip", **_headers(request))


@router.post(
    "/zip",
    status_code=201,
    summary="A zip of several files and folders: a link valid 24 hours",
    responses=errors(400, *AUTHENTICATED, 404, *JSON_BODY),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ZipSelection.model_json_schema()}},
        }
    },
)
async def create_zip(
    request: Request, catalog: CatalogDep, store: StoreDep, principal: PrincipalDep
) -> dict[str, Any]:
    file_ids, folder_ids = _selection(await read_json(request, ZipSelection, MAX_BODY))
    archive = await build_archive(catalog, store, principal.username, file_ids, folder_ids)
    token = new_share_token()
    expires_at = datetime.now(UTC) + LINK_LIFETIME
    link = ZipLink(principal.username, file_ids, folder_ids, expires_at)
    await catalog.create_zip_link(_token_hash(token), link)
    return {
        "url": f"/api/zip/{token}",
        "size": archive.layout.size,
        "etag": archive.layout.etag(),
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
    }


@router.get(
    "/zip/{token}",
    summary="Download a selection zip",
    response_class=Response,
    responses=ZIP_RESPONSES,
)
@router.head(
    "/zip/{token}",
    summary="A selection zip's headers",
    response_class=Response,
    responses=ZIP_RESPONSES,
)
async def selection_zip(
    token: str,
    request: Request,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
) -> Response:
    if len(token) > 128:
        raise NotFound()
    link = await catalog.find_zip_link(_token_hash(token), datetime.now(UTC))
    # Another user's link is unknown to them: 404, like another user's file.
    if link is None or link.owner != principal.username:
        raise NotFound()
    archive = await build_archive(catalog, store, link.owner, link.file_ids, link.folder_ids)
    name = archive.top or "files"
    return zip_response(archive, store, filename=f"{name}.zip", **_headers(request))
