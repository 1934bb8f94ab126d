"""Single sign-on routes: ``GET /api/auth/oidc/login`` sends the browser to the provider,
``GET /api/auth/oidc/callback`` brings it back signed in (DESIGN §8.4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from auth_service.audit import note
from auth_service.client import client_info
from auth_service.pages import login_context, safe_next
from auth_service.routes import set_session_cookies
from filebay.audit import events
from filebay.auth.accounts import start_session
from filebay.auth.oidc import OidcProvider
from filebay.auth.sso import (
    BROWSER_COOKIE,
    CALLBACK_PATH,
    finish_sign_in,
    provider_config,
    start_sign_in,
)
from filebay.config import Settings
from filebay.errors import FilebayError, NotFound, SsoFailed
from filebay.http.deps import (
    DirectoryDep,
    IdentitiesDep,
    KeyRingDep,
    SettingsDep,
    TemplatesDep,
)

router = APIRouter(tags=["auth"])


def _provider(request: Request, settings: Settings) -> OidcProvider:
    """The process's provider client (discovery and keys cached in it); 404 when single
    sign-on is not configured."""
    config = provider_config(settings)
    if config is None:
        raise NotFound("single sign-on is not configured")
    provider: OidcProvider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None or provider.config != config:
        provider = OidcProvider(config)
        request.app.state.oidc_provider = provider
    return provider


def redirect_uri(request: Request, settings: Settings) -> str:
    """The callback's address as the browser reaches it (registered at the provider)."""
    base = settings.auth_url or settings.public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK_PATH


# Both are a browser's way (redirects and a page), not an API to call: left out of the
# OpenAPI schema, described in the README.
@router.get("/api/auth/oidc/login", include_in_schema=False)
async def oidc_login(
    request: Request,
    settings: SettingsDep,
    identities: IdentitiesDep,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> Response:
    provider = _provider(request, settings)
    started = await start_sign_in(
        identities, provider, redirect_uri(request, settings), safe_next(next, settings)
    )
    response = RedirectResponse(started.url, status_code=302)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which carries it.
    response.set_cookie(
        BROWSER_COOKIE,
        started.browser_secret,
        max_age=600,
        path="/api/auth/oidc",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    return response


@router.get("/api/auth/oidc/callback", include_in_schema=False)
async def oidc_callback(
    request: Request,
    settings: SettingsDep,
    identities: IdentitiesDep,
    directory: DirectoryDep,
    ring: KeyRingDep,
    templates: TemplatesDep,
    state: Annotated[str | None, Query(max_length=512)] = None,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    provider = _provider(request, settings)
    try:
        if error is not None or not state or not code:
            # The provider's error text is not shown: it is not ours to vouch for.
            raise SsoFailed("the identity provider did not sign you in")
        signed_in = await finish_sign_in(
            identities,
            directory,
            provider,
            settings,
            state=state,
            code=code,
            browser_secret=request.cookies.get(BROWSER_COOKIE),
            redirect_uri=redirect_uri(request, settings),
        )
    except FilebayError as exc:
        await note(request, events.LOGIN_FAILED, actor=None, target="sso", reason=events.SSO_FAILED)
        context = login_context(settings, None, sso_error=exc.detail)
        response: Response = templates.TemplateResponse(
            request, "login.html", context, status_code=exc.status
        )
    else:
        issued = await start_session(
            directory,
            ring,
            signed_in.user,
            settings.session_seconds,
            browser=True,
            client=client_info(request),
        )
        assert issued.csrf is not None
        await note(request, events.LOGIN_OK, actor=signed_in.user.username, target="sso")
        response = RedirectResponse(signed_in.next_url, status_code=303)
        set_session_cookies(response, settings, issued.token, issued.csrf)
    response.delete_cookie(
        BROWSER_COOKIE, path="/api/auth/oidc", secure=settings.cookie_secure, samesite="lax"
    )
    return response
