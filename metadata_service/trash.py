"""The trash: list what was deleted, restore it, delete it for good, empty it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from filebay.catalog.files import DEFAULT_LIMIT, MAX_LIMIT
from filebay.http.deps import PrincipalDep, SettingsDep, StoreDep, TrashDep
from filebay.http.openapi import AUTHENTICATED, errors
from filebay.http.records import entry_json
from filebay.transfer.removal import remove_blobs

router = APIRouter(prefix="/api/trash", tags=["trash"])


@router.get("", summary="What is in the trash, newest first", responses=errors(400, *AUTHENTICATED))
async def list_trash(
    trash: TrashDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> dict[str, Any]:
    page = await trash.list_trash(principal.username, limit, cursor or None)
    keep = timedelta(days=settings.trash_days)
    return {
        "items": [item.to_json(keep) for item in page.items],
        "next_cursor": page.next_cursor,
        "trash_days": settings.trash_days,
    }


@router.post(
    "/{item_id}/restore",
    summary="Put an item back where it was (a taken name gets a number)",
    responses=errors(*AUTHENTICATED, 404),
)
async def restore(
    item_id: str, trash: TrashDep, principal: PrincipalDep, settings: SettingsDep
) -> dict[str, Any]:
    return entry_json(await trash.restore(item_id, principal.username), settings)


@router.delete(
    "/{item_id}",
    status_code=204,
    summary="Delete one item for good",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def purge(
    item_id: str, trash: TrashDep, store: StoreDep, principal: PrincipalDep
) -> Response:
    purged = await trash.purge(item_id, principal.username)
    await remove_blobs(store, purged.blob_keys)
    return Response(status_code=204)


@router.delete(
    "",
    status_code=204,
    summary="Empty the trash",
    response_class=Response,
    responses=errors(*AUTHENTICATED),
)
async def empty(trash: TrashDep, store: StoreDep, principal: PrincipalDep) -> Response:
    purged = await trash.empty(principal.username)
    await remove_blobs(store, purged.blob_keys)
    return Response(status_code=204)
