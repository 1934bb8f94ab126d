"""The server-rendered file list shared by the home page and the download page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from filebay.catalog.base import ListQuery
from filebay.web.listing import list_query
from filebay.web.state import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep


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
    download_base = (settings.download_url or "").rstrip("/")
    return templates.TemplateResponse(
        request,
        template,
        {
            "files": page.items,
            "next_cursor": page.next_cursor,
            "query": query,
            "principal": principal,
            "download_base": download_base,
            **extra,
        },
    )
