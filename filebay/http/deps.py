"""The FastAPI dependencies: what a route takes from the service's ``Runtime``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from fastapi.templating import Jinja2Templates
from starlette.routing import BaseRoute

from filebay.auth.authenticator import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Credentials,
)
from filebay.auth.keys import KeyRing
from filebay.auth.principal import SINGLE_USER, Principal
from filebay.catalog.audit import AuditLog
from filebay.catalog.files import Catalog
from filebay.catalog.folders import Folders
from filebay.catalog.identities import Identities
from filebay.catalog.shares import ShareLookup, Shares
from filebay.catalog.trash import Trash
from filebay.catalog.uploads import UploadSessions
from filebay.catalog.users import Directory, LoginLimiter
from filebay.config import Settings
from filebay.errors import Forbidden, MfaEnrolmentRequired
from filebay.runtime import Runtime
from filebay.sharing.grants import ShareGrants
from filebay.storage.base import BlobStore, StagingStore

T = TypeVar("T")


def get_runtime(request: Request) -> Runtime:
    """What the app holds (a plain function: callable outside ``Depends`` too)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_settings(request: Request) -> Settings:
    return get_runtime(request).settings


async def get_catalog(request: Request) -> Catalog:
    return get_runtime(request).catalog


async def get_uploads(request: Request) -> UploadSessions:
    return get_runtime(request).uploads


async def get_shares(request: Request) -> Shares:
    return _present(get_runtime(request).shares)


async def get_share_lookup(request: Request) -> ShareLookup:
    return get_runtime(request).share_lookup


async def get_limiter(request: Request) -> LoginLimiter:
    return get_runtime(request).login_limiter


async def get_store(request: Request) -> BlobStore:
    return get_runtime(request).store


async def get_staging_store(request: Request) -> StagingStore:
    # A staging store, or the service would not have started (as in ``_present``).
    return cast(StagingStore, get_runtime(request).store)


async def get_folders(request: Request) -> Folders:
    return _present(get_runtime(request).folders)


async def get_trash(request: Request) -> Trash:
    return _present(get_runtime(request).trash)


async def get_directory(request: Request) -> Directory:
    return _present(get_runtime(request).directory)


async def get_keyring(request: Request) -> KeyRing:
    return _present(get_runtime(request).keyring)


async def get_share_grants(request: Request) -> ShareGrants:
    return _present(get_runtime(request).share_grants)


async def get_identities(request: Request) -> Identities:
    return _present(get_runtime(request).identities)


async def get_audit(request: Request) -> AuditLog:
    return _present(get_runtime(request).audit)


def _present(value: T | None) -> T:
    # Never None here: a service whose routes need a capability its runtime lacks does not
    # start (``missing_capabilities``, checked by ``filebay.http.app.build_app``).
    return cast(T, value)


#: The dependencies that need an optional capability of the ``Runtime``, by its name.
CAPABILITY_OF: dict[Callable[..., Any], str] = {
    get_shares: "shares",
    get_folders: "folders",
    get_trash: "trash",
    get_directory: "directory",
    get_keyring: "keyring",
    get_share_grants: "share_grants",
    get_identities: "identities",
    get_audit: "audit",
    get_staging_store: "staging",
}


def route_needs(route: BaseRoute) -> set[str]:
    """The optional capabilities a route needs: read from its dependency tree, so a route
    that takes ``DirectoryDep`` (itself or through another dependency) needs a directory."""
    if not isinstance(route, APIRoute):
        return set()
    needs: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call in CAPABILITY_OF:
            needs.add(CAPABILITY_OF[dependant.call])
        pending.extend(dependant.dependencies)
    return needs


def missing_capabilities(routes: Iterable[BaseRoute], has: Collection[str]) -> dict[str, list[str]]:
    """Each capability some route needs and ``has`` lacks, with those routes (``METHOD
    path``): empty when the service can serve every route it mounts."""
    missing: dict[str, list[str]] = {}
    for route in routes:
        for need in sorted(route_needs(route) - set(has)):
            assert isinstance(route, APIRoute)
            for method in sorted(route.methods):
                missing.setdefault(need, []).append(f"{method} {route.path}")
    return missing


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


#: What a session that must set up a second factor first may reach (FILEBAY_REQUIRE_MFA).
ENROL_PATHS = frozenset(
    {
        "/api/me",
        "/api/me/totp",
        "/api/me/totp/confirm",
        "/api/auth/logout",
        "/account/security",
    }
)


# Declares the OAuth2 password flow in the OpenAPI schema, so /docs has an Authorize button.
# The header itself is read below (it may also carry an API token).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def current_principal(
    request: Request, _bearer: Annotated[str | None, Depends(oauth2_scheme)] = None
) -> Principal:
    """The caller: bearer JWT or API token, or the session cookie (with CSRF on writes)."""
    runtime = get_runtime(request)
    if runtime.settings.auth == "off":
        return SINGLE_USER
    creds = Credentials(
        authorization=request.headers.get("authorization"),
        session_cookie=request.cookies.get(SESSION_COOKIE),
        csrf_header=request.headers.get(CSRF_HEADER),
        method=request.method,
    )
    principal = await runtime.authenticator.authenticate(creds)
    if principal.enrol_only and request.url.path not in ENROL_PATHS:
        raise MfaEnrolmentRequired()
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admins only")
    return principal


# Every dependency is ``async def``: FastAPI runs a plain ``def`` dependency in a worker
# thread, and those hops (several per request) cost more than the request's own work.
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
StagingStoreDep = Annotated[StagingStore, Depends(get_staging_store)]
UploadsDep = Annotated[UploadSessions, Depends(get_uploads)]
SharesDep = Annotated[Shares, Depends(get_shares)]
FoldersDep = Annotated[Folders, Depends(get_folders)]
TrashDep = Annotated[Trash, Depends(get_trash)]
ShareLookupDep = Annotated[ShareLookup, Depends(get_share_lookup)]
LimiterDep = Annotated[LoginLimiter, Depends(get_limiter)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
KeyRingDep = Annotated[KeyRing, Depends(get_keyring)]
ShareGrantsDep = Annotated[ShareGrants, Depends(get_share_grants)]
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
