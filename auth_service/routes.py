"""Auth API: tokens, browser login/logout, who-am-I, API tokens, user admin, JWKS."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from auth_service.audit import failed_logins_noted, note
from auth_service.client import client_address, client_info
from filebay.audit import events
from filebay.auth.accounts import (
    authenticate_password,
    check_password,
    check_role,
    check_username,
    delete_account,
    start_session,
    update_account,
)
from filebay.auth.authenticator import CSRF_COOKIE, SESSION_COOKIE
from filebay.auth.keys import KeyRing
from filebay.auth.mfa import check_code, has_totp, must_enrol, start_challenge
from filebay.auth.passwords import hash_password
from filebay.auth.secrets import new_api_token, secret_hash
from filebay.catalog.users import UNSET, Directory, User
from filebay.config import Settings
from filebay.errors import MfaRequired, PasswordLoginOff
from filebay.http.deps import (
    AdminDep,
    CatalogDep,
    DirectoryDep,
    IdentitiesDep,
    KeyRingDep,
    PrincipalDep,
    SettingsDep,
    StoreDep,
    TrashDep,
    get_runtime,
)
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors

router = APIRouter(tags=["auth"])

# The database stores quotas as 64-bit integers.
MAX_QUOTA = 2**63 - 1


class LoginBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=255)


class NewUserBody(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: str = "user"
    quota_bytes: int | None = Field(None, ge=0, le=MAX_QUOTA)
    quota_files: int | None = Field(None, ge=0, le=MAX_QUOTA)
    #: An account made ready ahead of time, enabled later with PATCH.
    disabled: bool = False


class UserPatch(BaseModel):
    password: str | None = Field(None, max_length=1024)
    role: str | None = None
    quota_bytes: int | None = Field(None, ge=0, le=MAX_QUOTA)
    quota_files: int | None = Field(None, ge=0, le=MAX_QUOTA)
    disabled: bool | None = None


def _public_user(user: User) -> dict[str, Any]:
    data = user.to_json()
    data.pop("sessions_valid_after", None)
    return data


def refuse_password_login(settings: Settings) -> None:
    """FILEBAY_PASSWORD_LOGIN=off: passwords are not taken at all (API tokens still are)."""
    if not settings.password_login:
        raise PasswordLoginOff()


def set_session_cookies(response: Response, settings: Settings, token: str, csrf: str) -> None:
    common: dict[str, Any] = {
        "max_age": settings.session_seconds,
        "path": "/",
        "secure": settings.cookie_secure,
        "samesite": "lax",
    }
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)
    # Readable by the page's script, which echoes it in X-CSRF-Token; useless to another site.
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)


@router.post(
    "/api/auth/token",
    summary="OAuth2 password flow: a bearer JWT",
    responses=errors(401, 403, *JSON_BODY, 429, 503),
)
async def token(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    directory: DirectoryDep,
    identities: IdentitiesDep,
    ring: KeyRingDep,
    settings: SettingsDep,
    totp: Annotated[str | None, Form(max_length=64)] = None,
) -> dict[str, Any]:
    refuse_password_login(settings)
    address = client_address(request)
    async with failed_logins_noted(request, username):
        user = await authenticate_password(directory, settings, username, password, address)
        has_second_factor = await has_totp(identities, user.username)
        if has_second_factor:
            if not totp:
                raise MfaRequired()
            await check_code(identities, directory, settings, user.username, totp, address)
    await note(request, events.LOGIN_OK, actor=user.username, target="token endpoint")
    enrol = not has_second_factor and must_enrol(settings, user)
    issued = await start_session(
        directory,
        ring,
        user,
        settings.access_token_seconds,
        browser=False,
        enrol_only=enrol,
        client=client_info(request),
    )
    answer = {"access_token": issued.token, "token_type": "bearer", "expires_in": issued.expires_in}
    return {**answer, "mfa_enrol_required": True} if enrol else answer


@router.post(
    "/api/auth/login",
    summary="Browser login: sets the session cookie",
    responses=errors(401, 403, *JSON_BODY, 429, 503),
)
async def login(
    request: Request,
    body: LoginBody,
    response: Response,
    directory: DirectoryDep,
    identities: IdentitiesDep,
    ring: KeyRingDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    refuse_password_login(settings)
    async with failed_logins_noted(request, body.username):
        user = await authenticate_password(
            directory, settings, body.username, body.password, client_address(request)
        )
    if await has_totp(identities, user.username):
        # No session yet: the second step (POST /api/auth/login/mfa) makes it.
        return {
            "mfa_required": True,
            "mfa_token": await start_challenge(identities, user, browser=True),
        }
    return await browser_login(
        request, response, directory, ring, settings, user, second_factor=False, how="password"
    )


async def browser_login(
    request: Request,
    response: Response,
    directory: Directory,
    ring: KeyRing,
    settings: Settings,
    user: User,
    *,
    second_factor: bool,
    how: str,
) -> dict[str, Any]:
    """A browser session for ``user`` (one that may only set up a second factor when
    FILEBAY_REQUIRE_MFA wants one and they have none), logged in the audit log as a login
    by ``how``: the cookies and the answer."""
    enrol = not second_factor and must_enrol(settings, user)
    issued = await start_session(
        directory,
        ring,
        user,
        settings.session_seconds,
        browser=True,
        enrol_only=enrol,
        client=client_info(request),
    )
    assert issued.csrf is not None
    await note(request, events.LOGIN_OK, actor=user.username, target=how)
    set_session_cookies(response, settings, issued.token, issued.csrf)
    answer = {"username": user.username, "role": user.role, "csrf_token": issued.csrf}
    return {**answer, "mfa_enrol_required": True} if enrol else answer


@router.post(
    "/api/auth/logout",
    status_code=204,
    summary="End this session",
    response_class=Response,
    responses=errors(*AUTHENTICATED),
)
async def logout(
    request: Request, principal: PrincipalDep, directory: DirectoryDep, settings: SettingsDep
) -> Response:
    if principal.session_id is not None:
        await directory.delete_session(secret_hash(principal.session_id))
        get_runtime(request).authenticator.forget(f"s:{principal.username}:")
    await note(request, events.LOGOUT, actor=principal.username)
    response = Response(status_code=204)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.cookie_secure, samesite="lax")
    return response


@router.get("/api/me", summary="Who am I", responses=errors(*AUTHENTICATED))
async def me(principal: PrincipalDep, catalog: CatalogDep, trash: TrashDep) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": "admin" if principal.is_admin else "user",
        "quota_bytes": principal.quota_bytes,
        "quota_files": principal.quota_files,
        "used_bytes": await catalog.usage(principal.username),
        # Part of used_bytes: the trash counts against the quota until purged.
        "trash_bytes": await trash.trash_bytes(principal.username),
        "via": principal.via,
    }


@router.get("/.well-known/jwks.json", summary="Public keys that verify filebay's JWTs")
async def jwks(ring: KeyRingDep) -> dict[str, Any]:
    return ring.jwks()


@router.post(
    "/api/tokens",
    status_code=201,
    summary="New API token (shown once)",
    responses=errors(*AUTHENTICATED, *JSON_BODY),
)
async def create_token(
    request: Request, body: TokenBody, principal: PrincipalDep, directory: DirectoryDep
) -> dict[str, Any]:
    secret = new_api_token()
    created = await directory.create_api_token(principal.username, body.name, secret_hash(secret))
    target = f"{created.id} {created.name}"  # its id and name: never the secret
    await note(request, events.TOKEN_CREATED, actor=principal.username, target=target)
    return {**created.to_json(), "token": secret}


@router.get(
    "/api/tokens",
    summary="Your API tokens (never the secrets)",
    responses=errors(*AUTHENTICATED),
)
async def list_tokens(principal: PrincipalDep, directory: DirectoryDep) -> dict[str, Any]:
    tokens = await directory.list_api_tokens(principal.username)
    return {"items": [t.to_json() for t in tokens]}


@router.delete(
    "/api/tokens/{token_id}",
    status_code=204,
    summary="Revoke an API token",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def delete_token(
    request: Request, token_id: str, principal: PrincipalDep, directory: DirectoryDep
) -> Response:
    await directory.delete_api_token(token_id, principal.username)
    get_runtime(request).authenticator.forget("t:")
    await note(request, events.TOKEN_REVOKED, actor=principal.username, target=token_id)
    return Response(status_code=204)


@router.post(
    "/api/users",
    status_code=201,
    summary="Create a user (admin)",
    responses=errors(*AUTHENTICATED, 409, *JSON_BODY),
)
async def create_user(
    request: Request, body: NewUserBody, admin: AdminDep, directory: DirectoryDep
) -> dict[str, Any]:
    user = await directory.create_user(
        check_username(body.username),
        await hash_password(check_password(body.password)),
        check_role(body.role),
        body.quota_bytes,
        disabled=body.disabled,
        quota_files=body.quota_files,
    )
    await note(request, events.USER_CREATED, actor=admin.username, target=user.username)
    return _public_user(user)


@router.get("/api/users", summary="All users (admin)", responses=errors(*AUTHENTICATED))
async def list_users(_admin: AdminDep, directory: DirectoryDep) -> dict[str, Any]:
    return {"items": [_public_user(u) for u in await directory.list_users()]}


@router.patch(
    "/api/users/{username}",
    summary="Change a user (admin)",
    responses=errors(*AUTHENTICATED, 404, 409, *JSON_BODY),
)
async def patch_user(
    request: Request,
    username: str,
    body: UserPatch,
    admin: AdminDep,
    directory: DirectoryDep,
) -> dict[str, Any]:
    given = body.model_fields_set
    user = await update_account(
        directory,
        username,
        password=body.password,
        role=body.role,
        quota_bytes=body.quota_bytes if "quota_bytes" in given else UNSET,
        quota_files=body.quota_files if "quota_files" in given else UNSET,
        disabled=body.disabled,
    )
    get_runtime(request).authenticator.forget()
    if body.password is not None:
        await note(request, events.PASSWORD_CHANGED, actor=admin.username, target=username)
    changed = sorted(given - {"password"})
    if changed:  # what changed, not to what (a role, a quota: no secret, but kept short)
        target = f"{username}: {', '.join(changed)}"
        await note(request, events.USER_CHANGED, actor=admin.username, target=target)
    return _public_user(user)


@router.get(
    "/api/users/{username}/tokens",
    summary="A user's API tokens (admin; never the secrets)",
    responses=errors(*AUTHENTICATED, 404),
)
async def list_user_tokens(
    username: str, _admin: AdminDep, directory: DirectoryDep
) -> dict[str, Any]:
    await directory.get_user(username)  # 404 for no such user, not an empty list
    tokens = await directory.list_api_tokens(username)
    return {"items": [t.to_json() for t in tokens]}


@router.delete(
    "/api/users/{username}/tokens/{token_id}",
    status_code=204,
    summary="Revoke one of a user's API tokens (admin)",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def delete_user_token(
    request: Request, username: str, token_id: str, admin: AdminDep, directory: DirectoryDep
) -> Response:
    await directory.delete_api_token(token_id, username)
    get_runtime(request).authenticator.forget("t:")
    target = f"{username}: {token_id}"
    await note(request, events.TOKEN_REVOKED, actor=admin.username, target=target)
    return Response(status_code=204)


@router.delete(
    "/api/users/{username}/tokens",
    summary="Revoke every API token of a user (admin)",
    responses=errors(*AUTHENTICATED, 404),
)
async def delete_user_tokens(
    request: Request, username: str, admin: AdminDep, directory: DirectoryDep
) -> dict[str, int]:
    await directory.get_user(username)
    revoked = await directory.delete_api_tokens(username)
    get_runtime(request).authenticator.forget("t:")
    target = f"{username}: all ({revoked})"
    await note(request, events.TOKEN_REVOKED, actor=admin.username, target=target)
    return {"revoked": revoked}


@router.delete(
    "/api/users/{username}",
    status_code=204,
    summary="Delete a user and their files",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404, 409),
)
async def delete_user(
    request: Request,
    username: str,
    admin: AdminDep,
    directory: DirectoryDep,
    catalog: CatalogDep,
    store: StoreDep,
) -> Response:
    await delete_account(directory, catalog, store, username)
    get_runtime(request).authenticator.forget()
    await note(request, events.USER_DELETED, actor=admin.username, target=username)
    return Response(status_code=204)
