"""Thumbnail route: a small WebP of one of your files (made on first use, then kept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from filebay.http.deps import CatalogDep, PrincipalDep, StoreDep, get_runtime
from filebay.http.openapi import AUTHENTICATED, BINARY, errors
from filebay.previews.thumbnails import (
    MEDIA_TYPE,
    SIZES,
    Thumbnailer,
    check_size,
    etag,
    read_thumbnail,
)
from filebay.transfer.ranges import not_modified

router = APIRouter(prefix="/api/files", tags=["download"])

#: Revalidated after five minutes (a cheap 304): a file replaced in place gets a new ETag.
CACHE_CONTROL = "private, max-age=300"


async def get_thumbnailer(request: Request) -> Thumbnailer:
    """The process's one thumbnailer (it holds the rendering slots), made on first use."""
    state = request.app.state
    if getattr(state, "thumbnailer", None) is None:
        state.thumbnailer = Thumbnailer.of(get_runtime(request).settings)
    thumbnailer: Thumbnailer = state.thumbnailer
    return thumbnailer


ThumbnailerDep = Annotated[Thumbnailer, Depends(get_thumbnailer)]


@router.get(
    "/{file_id}/thumbnail",
    summary="A thumbnail of a picture, PDF or video",
    response_class=Response,
    responses={
        200: {"content": {MEDIA_TYPE: BINARY["*/*"]}, "description": "The thumbnail (WebP)."},
        304: {"description": "Not modified (If-None-Match matched the ETag)."},
        **errors(400, *AUTHENTICATED, 404),
    },
)
async def file_thumbnail(
    file_id: str,
    catalog: CatalogDep,
    store: StoreDep,
    principal: PrincipalDep,
    thumbnailer: ThumbnailerDep,
    size: Annotated[
        int, Query(description="The longest side.", json_schema_extra={"enum": list(SIZES)})
    ] = 256,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    check_size(size)
    record = await catalog.get(file_id, principal.scope)
    key = await thumbnailer.ensure(record, store, size)
    headers = {"ETag": etag(record, size), "Cache-Control": CACHE_CONTROL}
    if not_modified(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    data = await read_thumbnail(store, key)
    headers["X-Content-Type-Options"] = "nosniff"
    return Response(data, media_type=MEDIA_TYPE, headers=headers)
