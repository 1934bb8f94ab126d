"""Share-link management for a file's owner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from filebay.auth.passwords import MAX_PASSWORD_LENGTH
from filebay.catalog.folders import folder_id_of
from filebay.catalog.shares import Share
from filebay.http.deps import CatalogDep, FoldersDep, PrincipalDep, SettingsDep, SharesDep
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors
from filebay.sharing.links import MAX_EXPIRES_IN, create_share, link_path, revoke_share

router = APIRouter(tags=["shares"])


class NewShare(BaseModel):
    expires_in: int | None = Field(None, ge=1, le=MAX_EXPIRES_IN, description="Seconds.")
    password: str | None = Field(None, min_length=1, max_length=MAX_PASSWORD_LENGTH)
    max_downloads: int | None = Field(None, ge=1, le=1_000_000)


def _public(share: Share) -> dict[str, Any]:
    # Never the password hash; the token itself is only in the creation answer.
    return {
        "id": share.id,
        "file_id": share.file_id,
        "created_at": share.created_at.isoformat(),
        "expires_at": share.expires_at.isoformat() if share.expires_at else None,
        "max_downloads": share.max_downloads,
        "downloads": share.downloads,
        "has_password": share.password_hash is not None,
        "kind": share.kind,
    }


def _share_url(download_url: str | None, token: str) -> str:
    return f"{(download_url or '').rstrip('/')}{link_path(token)}"


@router.post(
    "/api/files/{file_id}/shares",
    status_code=201,
    summary="Create a share link",
    responses=errors(*AUTHENTICATED, 404, *JSON_BODY),
)
async def create(
    file_id: str,
    body: NewShare,
    catalog: CatalogDep,
    shares: SharesDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    record = await catalog.get(file_id, principal.scope)
    share, token = await create_share(
        shares,
        record.id,
        record.owner,
        expires_in=body.expires_in,
        password=body.password,
        max_downloads=body.max_downloads,
    )
    return {**_public(share), "token": token, "url": _share_url(settings.download_url, token)}


@router.get(
    "/api/files/{file_id}/shares",
    summary="A file's share links",
    responses=errors(*AUTHENTICATED, 404),
)
async def list_(
    file_id: str, catalog: CatalogDep, shares: SharesDep, principal: PrincipalDep
) -> dict[str, Any]:
    record = await catalog.get(file_id, principal.scope)
    return {"items": [_public(s) for s in await shares.list_shares(record.id, principal.scope)]}


@router.delete(
    "/api/shares/{token}",
    status_code=204,
    summary="Revoke a share link",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def revoke(token: str, shares: SharesDep, principal: PrincipalDep) -> Response:
    """``token`` is the link's token or its ``id``."""
    await revoke_share(shares, token, principal.scope)
    return Response(status_code=204)


@router.post(
    "/api/folders/{folder_id}/shares",
    status_code=201,
    summary="Share a folder: a link to browse it, download its files, or all of it as a zip",
    responses=errors(*AUTHENTICATED, 404, *JSON_BODY),
)
async def create_folder_share(
    folder_id: str,
    body: NewShare,
    folders: FoldersDep,
    shares: SharesDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    target = folder_id_of(folder_id)
    # The root is no folder (a link to everything one has is not a share).
    folder = await folders.get(target or "-", principal.username)
    share, token = await create_share(
        shares,
        folder.id,
        folder.owner,
        expires_in=body.expires_in,
        password=body.password,
        max_downloads=body.max_downloads,
        kind="folder",
    )
    return {**_public(share), "token": token, "url": _share_url(settings.download_url, token)}


@router.get(
    "/api/folders/{folder_id}/shares",
    summary="A folder's share links",
    responses=errors(*AUTHENTICATED, 404),
)
async def list_folder_shares(
    folder_id: str, folders: FoldersDep, shares: SharesDep, principal: PrincipalDep
) -> dict[str, Any]:
    folder = await folders.get(folder_id_of(folder_id) or "-", principal.username)
    return {"items": [_public(s) for s in await shares.list_shares(folder.id, principal.username)]}
