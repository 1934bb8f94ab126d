"""Two-step login routes: TOTP enrolment (``/api/me/totp``), the second step of a browser
login (``/api/auth/login/mfa``), and the admins' reset of a user's second factors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from auth_service.audit import failed_logins_noted, note
from auth_service.client import client_address, client_info
from auth_service.routes import browser_login, set_session_cookies
from filebay.audit import events
from filebay.auth.accounts import start_session
from filebay.auth.mfa import (
    begin_enrolment,
    challenge_user,
    check_code,
    confirm_enrolment,
    finish_challenge,
    has_totp,
    must_enrol,
)
from filebay.auth.secrets import secret_hash
from filebay.errors import Forbidden
from filebay.http.deps import (
    AdminDep,
    DirectoryDep,
    IdentitiesDep,
    KeyRingDep,
    PrincipalDep,
    SettingsDep,
    get_runtime,
)
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors

router = APIRouter(tags=["auth"])


class CodeBody(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class MfaLoginBody(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=128)
    code: str = Field(min_length=1, max_length=64)


@router.get("/api/me/totp", summary="Is two-step login on", responses=errors(*AUTHENTICATED))
async def totp_status(
    principal: PrincipalDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    user = await directory.get_user(principal.username)
    return {
        "enabled": await has_totp(identities, principal.username),
        "required": must_enrol(settings, user),
    }


@router.post(
    "/api/me/totp",
    summary="Start TOTP enrolment: a new secret and its QR code (on once confirmed)",
    responses=errors(*AUTHENTICATED, 409),
)
async def totp_begin(principal: PrincipalDep, identities: IdentitiesDep) -> dict[str, str]:
    enrolment = await begin_enrolment(identities, principal.username)
    return {
        "secret": enrolment.secret,
        "otpauth_uri": enrolment.otpauth_uri,
        "qr_svg": enrolment.qr_svg,
    }


@router.post(
    "/api/me/totp/confirm",
    summary="Turn TOTP on with a code of it: ten recovery codes (shown once)",
    responses=errors(*AUTHENTICATED, *JSON_BODY, 409, 429),
)
async def totp_confirm(
    request: Request,
    body: CodeBody,
    response: Response,
    principal: PrincipalDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    ring: KeyRingDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    codes = await confirm_enrolment(
        identities, directory, settings, principal.username, body.code, client_address(request)
    )
    await note(request, events.MFA_ENABLED, actor=principal.username, target="totp")
    answer: dict[str, Any] = {"recovery_codes": codes}
    if principal.enrol_only and principal.session_id is not None:
        # The enrolment-only session has done its job: a full one takes its place.
        user = await directory.get_user(principal.username)
        browser = principal.via == "session"
        ttl = settings.session_seconds if browser else settings.access_token_seconds
        client = client_info(request)
        issued = await start_session(directory, ring, user, ttl, browser=browser, client=client)
        await directory.delete_session(secret_hash(principal.session_id))
        get_runtime(request).authenticator.forget(f"s:{principal.username}:")
        if browser:
            assert issued.csrf is not None
            set_session_cookies(response, settings, issued.token, issued.csrf)
            answer["csrf_token"] = issued.csrf
        else:
            answer["access_token"] = issued.token
    return answer


@router.delete(
    "/api/me/totp",
    status_code=204,
    summary="Turn TOTP off (a code or a recovery code in the body)",
    response_class=Response,
    responses=errors(*AUTHENTICATED, *JSON_BODY, 403, 429),
)
async def totp_disable(
    request: Request,
    body: CodeBody,
    principal: PrincipalDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> Response:
    user = await directory.get_user(principal.username)
    if must_enrol(settings, user):
        raise Forbidden("two-step login is required here (FILEBAY_REQUIRE_MFA)")
    address = client_address(request)
    await check_code(
        identities, directory, settings, principal.username, body.code, address, signed_in=True
    )
    await identities.remove_second_factors(principal.username)
    await note(request, events.MFA_DISABLED, actor=principal.username, target="totp")
    return Response(status_code=204)


@router.post(
    "/api/auth/login/mfa",
    summary="Second step of a browser login: the TOTP or a recovery code",
    responses=errors(401, *JSON_BODY, 429, 503),
)
async def login_mfa(
    request: Request,
    body: MfaLoginBody,
    response: Response,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    ring: KeyRingDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    who = await challenge_user(identities, body.mfa_token)
    async with failed_logins_noted(request, who or ""):
        user = await finish_challenge(
            identities, directory, settings, body.mfa_token, body.code, client_address(request)
        )
    return await browser_login(
        request, response, directory, ring, settings, user, second_factor=True, how="totp"
    )


@router.delete(
    "/api/users/{username}/mfa",
    status_code=204,
    summary="Reset a user's second factors (admin)",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def reset_mfa(
    request: Request,
    username: str,
    admin: AdminDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
) -> Response:
    await directory.get_user(username)  # 404 for no such user
    await identities.remove_second_factors(username)
    await note(request, events.MFA_RESET, actor=admin.username, target=username)
    return Response(status_code=204)
