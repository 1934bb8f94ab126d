"""Folder routes: create, show (breadcrumbs, recursive counts), list items, rename or
move, delete a subtree; and ``/api/resolve`` from a path to a record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from filebay.catalog.files import DEFAULT_LIMIT, MAX_LIMIT, SortKey
from filebay.catalog.folders import ROOT_WORD, folder_id_of
from filebay.http.deps import FoldersDep, PrincipalDep, SettingsDep, StoreDep, TrashDep
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors
from filebay.http.records import entry_json
from filebay.names import validate_folder_name
from filebay.transfer.removal import remove_blobs
from metadata_service.routes import TRASH_ITEM_HEADER

router = APIRouter(prefix="/api", tags=["folders"])

FolderId = Annotated[str, "a folder id, or 'root'"]


class NewFolder(BaseModel):
    name: str = Field(min_length=1, max_length=4096)
    parent_id: str | None = Field(default=None, max_length=64)


class FolderChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=4096)
    parent_id: str | None = Field(default=None, max_length=64)


@router.post(
    "/folders",
    status_code=201,
    summary="Create a folder",
    responses=errors(400, *AUTHENTICATED, 404, 409, *JSON_BODY),
)
async def create_folder(
    body: NewFolder, folders: FoldersDep, principal: PrincipalDep
) -> dict[str, Any]:
    name = validate_folder_name(body.name)
    parent = folder_id_of(body.parent_id or "root")
    return (await folders.create(principal.username, parent, name)).to_json()


@router.get(
    "/folders/{folder_id}",
    summary="A folder, its breadcrumbs and what it holds (recursive counts)",
    responses=errors(*AUTHENTICATED, 404),
)
async def get_folder(
    folder_id: FolderId, folders: FoldersDep, principal: PrincipalDep
) -> dict[str, Any]:
    return (await folders.info(folder_id_of(folder_id), principal.username)).to_json()


@router.get(
    "/folders/{folder_id}/items",
    summary="The entries of a folder: folders first, then files",
    responses=errors(400, *AUTHENTICATED, 404),
)
async def folder_items(
    folder_id: FolderId,
    folders: FoldersDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
    sort: Annotated[SortKey, Query()] = SortKey.name,
) -> dict[str, Any]:
    page = await folders.items(
        folder_id_of(folder_id), principal.username, sort, limit, cursor or None
    )
    return {
        "items": [entry_json(item, settings) for item in page.items],
        "next_cursor": page.next_cursor,
    }


@router.patch(
    "/folders/{folder_id}",
    summary="Rename or move a folder",
    responses=errors(400, *AUTHENTICATED, 404, 409, *JSON_BODY),
)
async def change_folder(
    folder_id: FolderId, body: FolderChange, folders: FoldersDep, principal: PrincipalDep
) -> dict[str, Any]:
    target = folder_id_of(folder_id)
    name = None if body.name is None else validate_folder_name(body.name)
    # "parent_id": null is the root (as a record shows it); leaving it out keeps the parent.
    moves = "parent_id" in body.model_fields_set
    parent = folder_id_of(body.parent_id or ROOT_WORD) if moves else None
    record = await folders.update(target or "-", principal.username, name=name, parent_id=parent)
    return record.to_json()


@router.delete(
    "/folders/{folder_id}",
    status_code=204,
    summary="Move a folder and everything in it to the trash (permanent=true: delete)",
    response_class=Response,
    responses=errors(400, *AUTHENTICATED, 404),
)
async def delete_folder(
    folder_id: FolderId,
    folders: FoldersDep,
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    trash: TrashDep,
    permanent: Annotated[bool, Query(description="Skip the trash.")] = False,
) -> Response:
    target = folder_id_of(folder_id) or "-"  # the root is no folder to delete
    if permanent or settings.trash_days == 0:
        removed = await folders.delete(target, principal.username)
        await remove_blobs(store, removed.blob_keys)
        return Response(status_code=204)
    item = await trash.trash_folder(target, principal.username)
    return Response(status_code=204, headers={TRASH_ITEM_HEADER: item.id})


@router.get(
    "/resolve",
    summary="The file or folder at a path",
    responses=errors(400, *AUTHENTICATED, 404),
)
async def resolve(
    path: Annotated[str, Query(min_length=1, max_length=4096)],
    folders: FoldersDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    return entry_json(await folders.resolve(principal.username, path), settings)
