"""Public file-record routes: list, get, rename, delete."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from filebay.catalog.files import ListQuery
from filebay.errors import BlobNotFound
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, StoreDep
from filebay.http.listing import list_query
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors
from filebay.http.records import record_json
from filebay.names import validate_new_name

router = APIRouter(prefix="/api/files", tags=["files"])


class Rename(BaseModel):
    name: str = Field(min_length=1, max_length=4096)


@router.get("", summary="List and search your files", responses=errors(400, *AUTHENTICATED))
async def list_files(
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    query: Annotated[ListQuery, Depends(list_query)],
) -> dict[str, Any]:
    page = await catalog.list(principal.scope, query)
    return {
        "items": [record_json(r, settings) for r in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get("/{file_id}", summary="One file record", responses=errors(*AUTHENTICATED, 404))
async def get_file(
    file_id: str, catalog: CatalogDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return record_json(await catalog.get(file_id, principal.scope), settings)


@router.patch(
    "/{file_id}", summary="Rename a file", responses=errors(*AUTHENTICATED, 404, *JSON_BODY)
)
async def rename_file(
    file_id: str,
    body: Rename,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    name = validate_new_name(body.name)
    return record_json(await catalog.rename(file_id, principal.scope, name), settings)


@router.delete(
    "/{file_id}",
    status_code=204,
    summary="Delete a file and its bytes",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def delete_file(
    file_id: str, catalog: CatalogDep, store: StoreDep, principal: PrincipalDep
) -> Response:
    record = await catalog.delete(file_id, principal.scope)
    # Record first, then blob: a crash in between leaves an orphan blob for fsck, never a
    # record pointing at nothing.
    with contextlib.suppress(BlobNotFound):
        await store.delete(record.blob_key)
    return Response(status_code=204)
