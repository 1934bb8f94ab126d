"""The Trash page (its script calls ``/api/trash``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from filebay.http.deps import PrincipalDep, SettingsDep, TemplatesDep

router = APIRouter(include_in_schema=False)


@router.get("/trash", response_class=HTMLResponse)
async def trash_page(
    request: Request, principal: PrincipalDep, settings: SettingsDep, templates: TemplatesDep
) -> HTMLResponse:
    context = {"principal": principal, "trash_days": settings.trash_days}
    return templates.TemplateResponse(request, "trash.html", context)
