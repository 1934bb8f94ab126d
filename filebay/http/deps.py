"""What a running service holds: built once in the lifespan, injected with ``Depends``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from fastapi.templating import Jinja2Templates

from filebay.auth.authenticator import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Authenticator,
    Credentials,
)
from filebay.auth.keys import KeyRing
from filebay.auth.principal import SINGLE_USER, Principal
from filebay.catalog.files import Catalog
from filebay.catalog.shares import ShareLookup, Shares
from filebay.catalog.uploads import UploadSessions
from filebay.catalog.users import Directory, LoginLimiter
from filebay.config import Settings
from filebay.errors import Forbidden
from filebay.storage.base import BlobStore


@dataclass(slots=True)
class Services:
    settings: Settings
    catalog: Catalog
    store: BlobStore | None
    authenticator: Authenticator
    uploads: UploadSessions
    share_lookup: ShareLookup
    limiter: LoginLimiter
    #: Only where the database is local (all-in-one, auth, metadata).
    directory: Directory | None = None
    #: Only where the database is local: creating, listing and revoking share links.
    shares: Shares | None = None
    #: Only where JWTs are signed (all-in-one, auth).
    keyring: KeyRing | None = None
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()


def get_services(request: Request) -> Services:
    """What the app holds (a plain function: callable outside ``Depends`` too)."""
    services: Services = request.app.state.services
    return services


async def get_settings(request: Request) -> Settings:
    return get_services(request).settings


async def get_catalog(request: Request) -> Catalog:
    return get_services(request).catalog


async def get_uploads(request: Request) -> UploadSessions:
    return get_services(request).uploads


async def get_shares(request: Request) -> Shares:
    shares = get_services(request).shares
    if shares is None:
        raise RuntimeError("this service does not manage share links")
    return shares


async def get_share_lookup(request: Request) -> ShareLookup:
    return get_services(request).share_lookup


async def get_limiter(request: Request) -> LoginLimiter:
    return get_services(request).limiter


async def get_store(request: Request) -> BlobStore:
    store = get_services(request).store
    if store is None:  # a service built without blob access: a wiring bug, not user input
        raise RuntimeError("this service has no blob store")
    return store


async def get_directory(request: Request) -> Directory:
    directory = get_services(request).directory
    if directory is None:
        raise RuntimeError("this service has no user directory")
    return directory


async def get_keyring(request: Request) -> KeyRing:
    ring = get_services(request).keyring
    if ring is None:
        raise RuntimeError("this service does not sign tokens")
    return ring


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


# Declares the OAuth2 password flow in the OpenAPI schema, so /docs has an Authorize button.
# The header itself is read below (it may also carry an API token).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def current_principal(
    request: Request, _bearer: Annotated[str | None, Depends(oauth2_scheme)] = None
) -> Principal:
    """The caller: bearer JWT or API token, or the session cookie (with CSRF on writes)."""
    services = get_services(request)
    if services.settings.auth == "off":
        return SINGLE_USER
    creds = Credentials(
        authorization=request.headers.get("authorization"),
        session_cookie=request.cookies.get(SESSION_COOKIE),
        csrf_header=request.headers.get(CSRF_HEADER),
        method=request.method,
    )
    return await services.authenticator.authenticate(creds)


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admins only")
    return principal


# Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker
# thread, and those hops (several per request) cost more than the request's own work.
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
UploadsDep = Annotated[UploadSessions, Depends(get_uploads)]
SharesDep = Annotated[Shares, Depends(get_shares)]
ShareLookupDep = Annotated[ShareLookup, Depends(get_share_lookup)]
LimiterDep = Annotated[LoginLimiter, Depends(get_limiter)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
