"""The file list shared by the home page and the download page.

The first page is rendered on the server (it works without script and answers 503 when the
catalog is down); the page's script then takes over from ``GET /api/files``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.files import ListQuery
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.listing import list_query


async def render_file_list(
    request: Request,
    template: str,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    query: Annotated[ListQuery, Depends(list_query)],
    **extra: Any,
) -> HTMLResponse:
    page = await catalog.list(principal.scope, query)
    return templates.TemplateResponse(
        request,
        template,
        {
            "files": page.items,
            "next_cursor": page.next_cursor,
            "query": query,
            "principal": principal,
            **extra,
        },
    )
