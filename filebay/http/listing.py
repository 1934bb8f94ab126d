"""Query parameters of ``GET /api/files``, shared by the API and the pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from filebay.catalog.files import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, SortKey
from filebay.catalog.folders import folder_id_of


async def list_query(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="next_cursor of the previous page.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=255, description="Name contains (case-insensitive).")
    ] = None,
    sort: Annotated[SortKey, Query(description="Sort key; '-' for descending.")] = (
        SortKey.created_at_desc
    ),
    folder_id: Annotated[
        str | None,
        Query(max_length=64, description="Only the files directly in this folder ('root' too)."),
    ] = None,
) -> ListQuery:
    folder = None if folder_id is None else folder_id_of(folder_id)
    return ListQuery(limit=limit, cursor=cursor or None, q=q or None, sort=sort, folder_id=folder)
