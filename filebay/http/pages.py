"""The file list shared by the home page and the download page.

The first page is rendered on the server (it works without script and answers 503 when the
catalog is down); the page's script then takes over from ``GET /api/files``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from filebay.auth.principal import Principal
from filebay.catalog.files import ListQuery
from filebay.http.deps import CatalogDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.listing import list_query

OwnerParam = Annotated[
    Literal["all"] | None,
    Query(description="'all': every user's files (admins only; others see their own)."),
]


def list_scope(principal: Principal, owner: str | None) -> str | None:
    """Whose files a page lists: one's own by default (an admin's own list no longer mixes
    every user's files); every owner's (``None``) when an admin asks for ``owner=all``.
    Anyone else asking for all simply gets their own."""
    if owner == "all" and principal.is_admin:
        return None
    return principal.username


async def render_file_list(
    request: Request,
    template: str,
    catalog: CatalogDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    query: Annotated[ListQuery, Depends(list_query)],
    owner: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    scope = list_scope(principal, owner)
    page = await catalog.list(scope, query)
    return templates.TemplateResponse(
        request,
        template,
        {
            "files": page.items,
            "next_cursor": page.next_cursor,
            "query": query,
            "principal": principal,
            "all_owners": scope is None,
            **extra,
        },
    )


async def upload_room(catalog: CatalogDep, principal: Principal, max_upload_bytes: int) -> int:
    """The largest file this user can upload now: the server's size limit, or what is left
    of their quota when that is less (the page says what actually fits)."""
    if principal.quota_bytes is None:
        return max_upload_bytes
    left = max(0, principal.quota_bytes - await catalog.usage(principal.username))
    return min(max_upload_bytes, left)


_UNITS = (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600))


def until_words(moment: datetime, now: datetime) -> str:
    """``moment`` relative to ``now`` as a person says it ("in 7 days", "in 3 hours"), for
    pages read without script (the page's script keeps it current)."""
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "now"
    for unit, size in _UNITS:
        if seconds >= size:
            count = round(seconds / size)
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    minutes = max(1, round(seconds / 60))
    return f"in {minutes} minute{'' if minutes == 1 else 's'}"
