"""Content routes: GET and HEAD of a file's bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from filebay.web.content import content_response
from filebay.web.state import CatalogDep, PrincipalDep, StoreDep

router = APIRouter(prefix="/api/files", tags=["download"])


@router.api_route("/{file_id}/content", methods=["GET", "HEAD"], summary="Download a file")
async def file_content(
    file_id: str,
    request: Request,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
    inline: Annotated[bool, Query(description="Inline for safe types (images, PDF…).")] = False,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    record = await catalog.get(file_id, principal.scope)
    return await content_response(
        record,
        store,
        method=request.method,
        range_header=range,
        if_none_match=if_none_match,
        if_range=if_range,
        inline=inline,
    )
