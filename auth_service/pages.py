"""The login page, the API tokens page and the admin page."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from filebay.config import Settings
from filebay.http.deps import AdminDep, PrincipalDep, SettingsDep, TemplatesDep
from filebay.http.origins import browser_bases

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, settings: Settings) -> str:
    """Where to go after login: a local path, or a page of one of our services (the split
    shape has pages on the UI, download and auth services); never another site. Anything
    else goes to the UI's start page (a bare ``/`` on the auth service would be a 404)."""
    home = (settings.ui_url or "").rstrip("/") + "/"
    if not target or _has_blank_or_control(target):
        # Browsers drop tab, CR and LF from URLs: "/\t/evil.example" becomes a
        # protocol-relative "//evil.example". Whitespace has no place in our own links.
        return home
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    for base in browser_bases(settings).values():
        # base + "/": http://host:8003 must not let http://host:8003.evil.example through
        if base and target.startswith(base + "/"):
            return target
    return home


def _has_blank_or_control(target: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in target)


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request,
    templates: TemplatesDep,
    settings: SettingsDep,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", login_context(settings, next))


def login_context(
    settings: Settings, next: str | None, *, sso_error: str | None = None
) -> dict[str, Any]:
    """What the login page shows: the password form unless FILEBAY_PASSWORD_LOGIN=off, the
    "Sign in with <name>" button when single sign-on is configured."""
    sso = bool(settings.oidc_issuer and settings.oidc_client_id)
    return {
        "next_url": safe_next(next, settings),
        "principal": None,
        "password_login": settings.password_login,
        "sso_name": settings.oidc_name if sso else None,
        "sso_error": sso_error,
    }


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, admin: AdminDep, templates: TemplatesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "admin.html", {"principal": admin})


@router.get("/account/security", response_class=HTMLResponse)
async def security_page(
    request: Request,
    principal: PrincipalDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    next: Annotated[str | None, Query(max_length=2048)] = None,
) -> HTMLResponse:
    """Two-step login on and off; where FILEBAY_REQUIRE_MFA sends those without one."""
    context = {"principal": principal, "next_url": safe_next(next, settings) if next else ""}
    return templates.TemplateResponse(request, "account_security.html", context)


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(
    request: Request, principal: PrincipalDep, templates: TemplatesDep
) -> HTMLResponse:
    return templates.TemplateResponse(request, "tokens.html", {"principal": principal})
