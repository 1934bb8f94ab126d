"""The home page: the file manager (folders and files, uploads into the folder on view).

The script lists the folder (folders and files) from the metadata API; the server renders
the folder's files too, for a browser without script (and so the page answers 503, not an
empty shell, when the catalog is down)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.files import ROOT, ListQuery, SortKey
from filebay.catalog.folders import folder_id_of
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.pages import upload_room

router = APIRouter(include_in_schema=False)

MIB = 1024 * 1024
# Files larger than this go through tus (resumable after a dropped connection or a reload),
# in PATCH requests of at most TUS_CHUNK_BYTES; smaller ones in one multipart POST.
TUS_THRESHOLD_BYTES = 16 * MIB
TUS_CHUNK_BYTES = 32 * MIB
# Files listed for a browser without script (the rest: /uploads, which pages).
NO_SCRIPT_LIMIT = 100


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    folder: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=255)] = None,
) -> HTMLResponse:
    """The folder ``?folder=<id>`` (the root without); ``q`` narrows the no-script list."""
    folder_id = ROOT if folder is None else folder_id_of(folder)
    query = ListQuery(limit=NO_SCRIPT_LIMIT, q=q or None, sort=SortKey.name, folder_id=folder_id)
    page = await catalog.list(principal.username, query)
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "principal": principal,
            "folder_id": folder_id,
            "files": page.items,
            "more_files": page.next_cursor is not None,
            "q": q,
            "max_upload_bytes": settings.max_upload_bytes,
            "upload_room": await upload_room(catalog, principal, settings.max_upload_bytes),
            "tus_threshold_bytes": TUS_THRESHOLD_BYTES,
            "tus_chunk_bytes": TUS_CHUNK_BYTES,
        },
    )
