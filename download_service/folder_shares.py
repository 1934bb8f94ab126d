"""Folder share links: the folder's page (``/s/{token}?path=…``), each file's bytes
(``/s/{token}/files/{file_id}``) and "Download all" (``/s/{token}/zip``). Parse, call
``filebay.sharing.folders``, answer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from filebay.archive.build import archive_of
from filebay.archive.response import zip_response
from filebay.catalog.archives import ArchiveFile, ArchiveFolder, Selection
from filebay.catalog.files import Catalog
from filebay.catalog.shares import ShareLookup
from filebay.http.deps import (
    CatalogDep,
    SettingsDep,
    ShareGrantsDep,
    ShareLookupDep,
    StoreDep,
)
from filebay.http.openapi import content_responses
from filebay.http.pages import until_words
from filebay.sharing.downloads import Conditions, previewable
from filebay.sharing.folders import ZIP, admit, file_counts, open_folder_link, zip_counts
from filebay.sharing.grants import GrantCookie, ShareGrants
from filebay.transfer.content import content_response

router = APIRouter(tags=["shares"])


async def folder_page(
    request: Request,
    lookup: ShareLookup,
    catalog: Catalog,
    grants: ShareGrants,
    templates: Any,
    token: str,
    locked_page: Callable[..., Response],
) -> Response:
    """The shared folder at ``?path=`` (its subfolders and files), or the password form."""
    now = datetime.now(UTC)
    folder = await open_folder_link(lookup, catalog, token, now)
    share = folder.share
    if not grants.unlocked(share, request.cookies):
        return locked_page(request, templates, token, share, None)
    path = request.query_params.get("path", "").strip("/")[:16384]
    subfolders, files = folder.view(path)
    parts = path.split("/") if path else []
    crumbs = [{"name": p, "path": "/".join(parts[: i + 1])} for i, p in enumerate(parts)]
    left = None if share.max_downloads is None else max(0, share.max_downloads - share.downloads)
    return templates.TemplateResponse(
        request,
        "share_folder.html",
        {
            "token": token,
            "share": share,
            "folder_name": folder.name,
            "path": path,
            "crumbs": crumbs,
            "subfolders": subfolders,
            "files": files,
            "previews": {f.id for f in files if previewable(share, f)},
            "expires_in": until_words(share.expires_at, now) if share.expires_at else None,
            "downloads_left": left,
            "principal": None,
        },
    )


def _conditions(request: Request) -> Conditions:
    headers = request.headers
    return Conditions(
        method=request.method,
        range=headers.get("range"),
        if_none_match=headers.get("if-none-match"),
        if_range=headers.get("if-range"),
        if_match=headers.get("if-match"),
        if_unmodified_since=headers.get("if-unmodified-since"),
    )


def _set_ticket(response: Response, ticket: GrantCookie | None, secure: bool) -> Response:
    if ticket is not None:
        response.set_cookie(
            ticket.name,
            ticket.value,
            max_age=ticket.max_age,
            path=ticket.path,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    return response


@router.get(
    "/s/{token}/files/{file_id}",
    summary="A file of a shared folder",
    response_class=Response,
    responses=content_responses(),
)
@router.head(
    "/s/{token}/files/{file_id}",
    summary="A shared folder's file's headers",
    response_class=Response,
    responses=content_responses(),
)
async def shared_file(
    token: str,
    file_id: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    store: StoreDep,
    grants: ShareGrantsDep,
    settings: SettingsDep,
    inline: Annotated[bool, Query()] = False,
) -> Response:
    """Counted as a file link's content is: one download per new full GET."""
    gate = await admit(lookup, catalog, grants, token, request.cookies, file_id[:64])
    record = gate.folder.file(file_id)
    conditions = _conditions(request)
    ticket = (
        await gate.count(lookup, grants, token) if file_counts(gate, record, conditions) else None
    )
    response = await content_response(
        record,
        store,
        method=request.method,
        range_header=conditions.range,
        if_none_match=conditions.if_none_match,
        if_range=conditions.if_range,
        inline=inline and previewable(gate.share, record),
    )
    return _set_ticket(response, ticket, settings.cookie_secure)


@router.get(
    "/s/{token}/zip",
    summary="All of a shared folder as a zip (one download)",
    response_class=Response,
    responses=content_responses(),
)
@router.head(
    "/s/{token}/zip",
    summary="A shared folder's zip's headers",
    response_class=Response,
    responses=content_responses(),
)
async def shared_zip(
    token: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    store: StoreDep,
    grants: ShareGrantsDep,
    settings: SettingsDep,
) -> Response:
    gate = await admit(lookup, catalog, grants, token, request.cookies, ZIP)
    folder = gate.folder
    # The owner's paths, named from the shared folder down (its own name on top).
    named = Selection(
        [
            ArchiveFolder(f"{folder.name}/{f.path}".rstrip("/"), f.modified_at)
            for f in folder.folders
        ],
        [ArchiveFile(f"{folder.name}/{f.path}", f.record) for f in folder.files],
    )
    archive = await archive_of(catalog, store, named)
    layout = archive.layout
    conditions = _conditions(request)
    counts = zip_counts(gate, conditions, layout.etag(), layout.size, archive.modified_at)
    ticket = await gate.count(lookup, grants, token) if counts else None
    response = zip_response(
        archive,
        store,
        filename=f"{folder.name}.zip",
        method=request.method,
        range_header=conditions.range,
        if_range=conditions.if_range,
        if_none_match=conditions.if_none_match,
    )
    return _set_ticket(response, ticket, settings.cookie_secure)
