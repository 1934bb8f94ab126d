"""Public file-record routes: list, get, rename, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field, model_validator

from filebay.auth.principal import Principal
from filebay.catalog.files import ListQuery, OnConflict
from filebay.catalog.folders import ROOT_WORD, folder_id_of
from filebay.errors import Forbidden, NameTaken
from filebay.http.deps import (
    CatalogDep,
    FoldersDep,
    PrincipalDep,
    SettingsDep,
    StoreDep,
    TrashDep,
)
from filebay.http.listing import list_query
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors
from filebay.http.records import record_json
from filebay.names import name_key, validate_new_name
from filebay.transfer.copy import copy_file
from filebay.transfer.removal import remove_blobs

router = APIRouter(prefix="/api/files", tags=["files"])
#: The trash item a delete made (``POST /api/trash/{id}/restore`` undoes it; so does the
#: file's or folder's own id).
TRASH_ITEM_HEADER = "X-Trash-Item"


class FileChange(BaseModel):
    """A rename, a move, or both; at least one of them (``{}`` is a 422, as it always was)."""

    name: str | None = Field(default=None, min_length=1, max_length=4096)
    folder_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _something(self) -> FileChange:
        # "folder_id": null is the root (as a record shows it), so it counts as given.
        if self.name is None and "folder_id" not in self.model_fields_set:
            raise ValueError("give a name, a folder_id, or both")
        return self


class FileCopy(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=4096)
    folder_id: str | None = Field(default=None, max_length=64)


ConflictQuery = Annotated[
    OnConflict, Query(description="When the name is taken: rename (a (1).txt), replace, fail.")
]


@router.get(
    "", summary="List and search your files", responses=errors(400, *AUTHENTICATED, 403, 404)
)
async def list_files(
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    query: Annotated[ListQuery, Depends(list_query)],
    owner: Annotated[
        str | None, Query(max_length=64, description="'all': every user's files (admins).")
    ] = None,
) -> dict[str, Any]:
    page = await catalog.list(_list_scope(principal, owner), query)
    return {
        "items": [record_json(r, settings) for r in page.items],
        "next_cursor": page.next_cursor,
    }


def _list_scope(principal: Principal, owner: str | None) -> str | None:
    """One's own files by default, admins included; ``owner=all`` (admins) for everyone's,
    ``owner=<name>`` (admins) for one user's."""
    if owner is None or owner == principal.username:
        return principal.username
    if not principal.is_admin:
        raise Forbidden("only admins list other users' files")
    return None if owner == "all" else owner


@router.get("/{file_id}", summary="One file record", responses=errors(*AUTHENTICATED, 404))
async def get_file(
    file_id: str, catalog: CatalogDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return record_json(await catalog.get(file_id, principal.scope), settings)


@router.patch(
    "/{file_id}",
    summary="Rename a file, or move it to another folder",
    responses=errors(*AUTHENTICATED, 404, 409, *JSON_BODY),
)
async def change_file(
    file_id: str,
    body: FileChange,
    catalog: CatalogDep,
    folders: FoldersDep,
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    on_conflict: ConflictQuery = OnConflict.rename,
) -> dict[str, Any]:
    name = None if body.name is None else validate_new_name(body.name)
    if "folder_id" not in body.model_fields_set and name is not None:
        return record_json(await catalog.rename(file_id, principal.scope, name), settings)
    folder = folder_id_of(body.folder_id or ROOT_WORD)
    record = await folders.move_file(file_id, principal.username, folder, on_conflict, name)
    if record.replaced_blob_key:
        await remove_blobs(store, [record.replaced_blob_key])
    return record_json(record, settings)


@router.post(
    "/{file_id}/copy",
    status_code=201,
    summary="Copy a file on the server",
    responses=errors(*AUTHENTICATED, 404, 409, 413, 507, *JSON_BODY),
)
async def copy(
    file_id: str,
    body: FileCopy,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    on_conflict: ConflictQuery = OnConflict.rename,
) -> dict[str, Any]:
    source = await catalog.get(file_id, principal.username)
    folder = source.folder_id if body.folder_id is None else folder_id_of(body.folder_id)
    name = source.name if body.name is None else validate_new_name(body.name)
    onto_itself = folder == source.folder_id and name_key(name) == name_key(source.name)
    if onto_itself and on_conflict is OnConflict.replace:
        raise NameTaken(source.id, "a copy cannot replace the file it is made from")
    record = await copy_file(
        store,
        catalog,
        source,
        owner=principal.username,
        folder_id=folder,
        name=name,
        on_conflict=on_conflict,
        quota=principal.quota,
    )
    return record_json(record, settings)


@router.delete(
    "/{file_id}",
    status_code=204,
    summary="Move a file to the trash (or delete it for good with permanent=true)",
    response_class=Response,
    responses=errors(400, *AUTHENTICATED, 404),
)
async def delete_file(
    file_id: str,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    trash: TrashDep,
    permanent: Annotated[bool, Query(description="Skip the trash.")] = False,
) -> Response:
    if permanent or settings.trash_days == 0:
        record = await catalog.delete(file_id, principal.scope)
        await remove_blobs(store, [record.blob_key])
        return Response(status_code=204)
    # An admin may delete another user's file: it goes to that user's trash.
    owner = (await catalog.get(file_id, principal.scope)).owner
    item = await trash.trash_file(file_id, owner)
    return Response(status_code=204, headers={TRASH_ITEM_HEADER: item.id})
