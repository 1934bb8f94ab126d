"""The home page: upload form and the list of files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.base import ListQuery
from filebay.web.listing import list_query
from filebay.web.pages import render_file_list
from filebay.web.state import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep

router = APIRouter(include_in_schema=False)


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
    )
