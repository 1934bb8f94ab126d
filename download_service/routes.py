"""Content routes: GET and HEAD of a file's bytes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, StoreDep
from filebay.http.openapi import AUTHENTICATED, content_responses, errors
from filebay.transfer.content import check_preconditions, content_response
from filebay.transfer.presign import presigned_redirect

router = APIRouter(prefix="/api/files", tags=["download"])


CONTENT_RESPONSES = {
    **content_responses(),
    302: {"description": "To a presigned URL of the bucket (FILEBAY_S3_PRESIGN_DOWNLOADS)."},
    **errors(*AUTHENTICATED),
}


# Two decorators, not one api_route: each method gets its own operation id in the schema.
@router.get(
    "/{file_id}/content",
    summary="Download a file",
    response_class=Response,
    responses=CONTENT_RESPONSES,
)
@router.head(
    "/{file_id}/content",
    summary="A file's headers, without its bytes",
    response_class=Response,
    responses=CONTENT_RESPONSES,
)
async def file_content(
    file_id: str,
    request: Request,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    inline: Annotated[bool, Query(description="Inline for safe types (images, PDF…).")] = False,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
    if_match: Annotated[str | None, Header()] = None,
    if_unmodified_since: Annotated[str | None, Header()] = None,
) -> Response:
    record = await catalog.get(file_id, principal.scope)
    check_preconditions(record, if_match, if_unmodified_since)
    redirect = await presigned_redirect(
        record, store, settings, method=request.method, if_none_match=if_none_match, inline=inline
    )
    if redirect is not None:
        return redirect
    return await content_response(
        record,
        store,
        method=request.method,
        range_header=range,
        if_none_match=if_none_match,
        if_range=if_range,
        inline=inline,
    )
