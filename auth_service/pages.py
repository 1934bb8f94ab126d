"""The login page, the API tokens page and the admin page."""

from __future__ import annotations

import unicodedata
from typing import Annotated

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
    return templates.TemplateResponse(
        request,
        "login.html",
        {"next_url": safe_next(next, settings), "principal": None},
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, admin: AdminDep, templates: TemplatesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "admin.html", {"principal": admin})


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(
    request: Request, principal: PrincipalDep, templates: TemplatesDep
) -> HTMLResponse:
    return templates.TemplateResponse(request, "tokens.html", {"principal": principal})
