"""The home page: the upload panel and the "Uploaded files" tab."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.files import ListQuery
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.listing import list_query
from filebay.http.pages import render_file_list

router = APIRouter(include_in_schema=False)

MIB = 1024 * 1024
# Files larger than this go through tus (resumable after a dropped connection or a reload),
# in PATCH requests of at most TUS_CHUNK_BYTES; smaller ones in one multipart POST.
TUS_THRESHOLD_BYTES = 16 * MIB
TUS_CHUNK_BYTES = 32 * MIB


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    query: Annotated[ListQuery, Depends(list_query)],
) -> HTMLResponse:
    return await render_file_list(
        request,
        "index.html",
        catalog,
        principal,
        settings,
        templates,
        query,
        max_upload_bytes=settings.max_upload_bytes,
        tus_threshold_bytes=TUS_THRESHOLD_BYTES,
        tus_chunk_bytes=TUS_CHUNK_BYTES,
    )
