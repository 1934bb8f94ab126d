"""``/uploads``: the "Uploaded files" page with download links."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.files import ListQuery
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.listing import list_query
from filebay.http.pages import OwnerParam, render_file_list

router = APIRouter(include_in_schema=False)


@router.get("/uploads", response_class=HTMLResponse)
async def uploads_page(
    request: Request,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    query: Annotated[ListQuery, Depends(list_query)],
    owner: OwnerParam = None,
) -> HTMLResponse:
    return await render_file_list(
        request, "uploads.html", catalog, principal, settings, templates, query, owner
    )
