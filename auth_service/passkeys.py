"""Passkey routes: adding, listing and removing one's passkeys, and signing in with one
(``/api/auth/passkey``), without a user name or a password."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from auth_service import sessions
from auth_service.audit import failed_logins_noted, note
from auth_service.routes import browser_login
from filebay.audit import events
from filebay.auth import passkeys
from filebay.auth.secrets import secret_hash
from filebay.config import Settings
from filebay.http.deps import (
    DirectoryDep,
    IdentitiesDep,
    KeyRingDep,
    PrincipalDep,
    SettingsDep,
)
from filebay.http.openapi import AUTHENTICATED, JSON_BODY, errors

router = APIRouter(tags=["auth"])

#: The cookie that binds a WebAuthn ceremony to its browser.
CEREMONY_COOKIE = "filebay_webauthn"


class NewPasskey(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    #: The PublicKeyCredential from navigator.credentials.create(), as JSON.
    credential: dict[str, Any]


class PasskeySignIn(BaseModel):
    credential: dict[str, Any]


def _rp(request: Request, settings: Settings) -> passkeys.RelyingParty:
    return passkeys.relying_party(settings, str(request.base_url))


def _options_answer(options: str, secret: str, settings: Settings) -> Response:
    response = Response(options, media_type="application/json")
    response.set_cookie(
        CEREMONY_COOKIE,
        secret,
        max_age=passkeys.CEREMONY_SECONDS,
        path="/api",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )
    return response


def _browser_hash(request: Request) -> str:
    return secret_hash(request.cookies.get(CEREMONY_COOKIE, ""))


@router.post(
    "/api/me/passkeys/options",
    summary="Start adding a passkey: options for navigator.credentials.create()",
    responses=errors(*AUTHENTICATED),
)
async def passkey_options(
    request: Request,
    principal: PrincipalDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    settings: SettingsDep,
) -> Response:
    user = await directory.get_user(principal.username)
    secret = secrets.token_urlsafe(32)
    options = await passkeys.registration_options(
        identities, _rp(request, settings), user, secret_hash(secret)
    )
    return _options_answer(options, secret, settings)


@router.post(
    "/api/me/passkeys",
    status_code=201,
    summary="Add a passkey (the browser's answer to the options)",
    responses=errors(*AUTHENTICATED, *JSON_BODY, 409),
)
async def passkey_add(
    request: Request,
    body: NewPasskey,
    principal: PrincipalDep,
    identities: IdentitiesDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    added = await passkeys.register(
        identities,
        _rp(request, settings),
        principal.username,
        _browser_hash(request),
        body.name,
        body.credential,
    )
    await note(request, events.PASSKEY_ADDED, actor=principal.username, target=added.name)
    return added.to_json()


@router.get("/api/me/passkeys", summary="Your passkeys", responses=errors(*AUTHENTICATED))
async def passkey_list(principal: PrincipalDep, identities: IdentitiesDep) -> dict[str, Any]:
    return {"items": [p.to_json() for p in await identities.passkeys(principal.username)]}


@router.delete(
    "/api/me/passkeys/{passkey_id}",
    status_code=204,
    summary="Remove a passkey",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 400, 404),
)
async def passkey_remove(
    request: Request,
    passkey_id: str,
    principal: PrincipalDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    end_other_sessions: bool = False,
) -> Response:
    """``end_other_sessions``: a lost device's passkey goes, and so do the sessions that
    may be open on it."""
    await identities.remove_passkey(passkey_id, principal.username)
    await note(request, events.PASSKEY_REMOVED, actor=principal.username, target=passkey_id)
    if end_other_sessions:
        await sessions.end_other_sessions(request, directory, principal)
    return Response(status_code=204)


@router.post(
    "/api/auth/passkey/options",
    summary="Start a passkey sign-in: options for navigator.credentials.get()",
)
async def passkey_sign_in_options(
    request: Request, identities: IdentitiesDep, settings: SettingsDep
) -> Response:
    secret = secrets.token_urlsafe(32)
    options = await passkeys.authentication_options(
        identities, _rp(request, settings), secret_hash(secret)
    )
    return _options_answer(options, secret, settings)


@router.post(
    "/api/auth/passkey",
    summary="Sign in with a passkey: sets the session cookie",
    responses=errors(401, *JSON_BODY),
)
async def passkey_sign_in(
    request: Request,
    body: PasskeySignIn,
    response: Response,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    ring: KeyRingDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    async with failed_logins_noted(request, "", events.PASSKEY_FAILED):
        user = await passkeys.authenticate(
            identities, directory, _rp(request, settings), _browser_hash(request), body.credential
        )
    response.delete_cookie(CEREMONY_COOKIE, path="/api")
    # A passkey with user verification is two factors in one: no TOTP step after it.
    return await browser_login(
        request, response, directory, ring, settings, user, second_factor=True, how="passkey"
    )
