"""Public share pages: ``/s/{token}`` (page, password form) and ``/s/{token}/content``.

Parse, call ``filebay.sharing``, render: the rules (who may see what, what counts as a
download, the password's limits) live there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from download_service.folder_shares import folder_page
from filebay.auth.passwords import MAX_PASSWORD_LENGTH
from filebay.catalog.files import FileRecord
from filebay.catalog.shares import Share
from filebay.http.deps import (
    CatalogDep,
    LimiterDep,
    SettingsDep,
    ShareGrantsDep,
    ShareLookupDep,
    StoreDep,
    TemplatesDep,
)
from filebay.http.openapi import content_responses
from filebay.http.pages import until_words
from filebay.sharing.downloads import Conditions, open_download, previewable
from filebay.sharing.folders import FOLDER, open_any_link
from filebay.sharing.grants import GrantCookie, Purpose
from filebay.sharing.links import check_password, find_link, link_path, open_link
from filebay.transfer.content import content_response

router = APIRouter(tags=["shares"])


def _page(
    request: Request,
    templates: TemplatesDep,
    token: str,
    share: Share,
    record: FileRecord | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The share page: the file (``record``), or the password form when it is ``None``."""
    now = datetime.now(UTC)
    left = None if share.max_downloads is None else max(0, share.max_downloads - share.downloads)
    return templates.TemplateResponse(
        request,
        "share.html",
        {
            "token": token,
            "file": record,
            "locked": record is None,
            "share": share,
            "preview": preview_kind(record) if record and previewable(share, record) else None,
            "expires_in": until_words(share.expires_at, now) if share.expires_at else None,
            "downloads_left": left,
            "principal": None,
            "error": error,
        },
        status_code=status_code,
    )


def preview_kind(record: FileRecord) -> str:
    """How the share page shows a file it may show inline (``previewable``)."""
    base = record.content_type.split(";")[0].strip().lower()
    for kind in ("image", "audio", "video", "text"):
        if base.startswith(kind + "/"):
            return kind
    return "pdf" if base == "application/pdf" else "none"


def _set_cookie(response: Response, cookie: GrantCookie, settings: SettingsDep) -> None:
    response.set_cookie(
        cookie.name,
        cookie.value,
        max_age=cookie.max_age,
        path=cookie.path,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


@router.api_route(
    "/s/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
async def share_page(
    token: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    grants: ShareGrantsDep,
    templates: TemplatesDep,
) -> Response:
    if (await find_link(lookup, token)).kind == FOLDER:
        return await folder_page(request, lookup, catalog, grants, templates, token, _page)
    share, record = await open_link(lookup, catalog, token, datetime.now(UTC))
    unlocked = grants.unlocked(share, request.cookies)
    return _page(request, templates, token, share, record if unlocked else None)


@router.post("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unlock(
    token: str,
    request: Request,
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    limiter: LimiterDep,
    grants: ShareGrantsDep,
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    share = await open_any_link(lookup, catalog, token, datetime.now(UTC))
    if share.password_hash is None:
        return RedirectResponse(link_path(token), status_code=303)
    address = request.client.host if request.client else "unknown"
    if not await check_password(
        share, password, limiter=limiter, address=address, settings=settings
    ):
        return _page(
            request, templates, token, share, None, error="Wrong password.", status_code=401
        )
    response = RedirectResponse(link_path(token), status_code=303)
    _set_cookie(response, grants.issue(Purpose.unlock, share, token), settings)
    return response


# Two decorators, not one api_route: each method gets its own operation id in the schema.
@router.get(
    "/s/{token}/content",
    summary="A shared file's bytes",
    response_class=Response,
    responses=content_responses(),
)
@router.head(
    "/s/{token}/content",
    summary="A shared file's headers, without its bytes",
    response_class=Response,
    responses=content_responses(),
)
async def share_content(
    token: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    store: StoreDep,
    grants: ShareGrantsDep,
    settings: SettingsDep,
    inline: Annotated[bool, Query()] = False,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
    if_match: Annotated[str | None, Header()] = None,
    if_unmodified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Counts one download per client: a browser resuming with Range (it carries the ticket
    cookie from its first request) is not counted again; HEAD, 304 and 416 are never
    counted."""
    conditions = Conditions(
        method=request.method,
        range=range,
        if_none_match=if_none_match,
        if_range=if_range,
        if_match=if_match,
        if_unmodified_since=if_unmodified_since,
    )
    download = await open_download(lookup, catalog, grants, token, request.cookies, conditions)
    response = await content_response(
        download.record,
        store,
        method=request.method,
        range_header=range,
        if_none_match=if_none_match,
        if_range=if_range,
        inline=inline,
    )
    if download.ticket is not None:
        _set_cookie(response, download.ticket, settings)
    return response
