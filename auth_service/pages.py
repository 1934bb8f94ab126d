"""The login page, the API tokens page and the admin page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from filebay.web.state import AdminDep, PrincipalDep, SettingsDep, TemplatesDep

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None, ui_url: str | None) -> str:
    """Where to go after login: a local path, or the configured UI; never another site."""
    if not target:
        return (ui_url or "").rstrip("/") + "/"
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    if ui_url and target.startswith(ui_url.rstrip("/") + "/"):
        return target
    return "/"


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
        {"next_url": safe_next(next, settings.ui_url), "principal": None},
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(request: Request, admin: AdminDep, templates: TemplatesDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "admin.html", {"principal": admin})


@router.get("/tokens", response_class=HTMLResponse)
async def tokens_page(
    request: Request, principal: PrincipalDep, templates: TemplatesDep
) -> HTMLResponse:
    return templates.TemplateResponse(request, "tokens.html", {"principal": principal})
