"""The audit log's routes (``GET /api/audit`` for admins, ``GET /api/me/audit``, the
``/admin/audit`` page) and the auth service's way of writing to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from auth_service.client import client_info
from filebay.audit import events
from filebay.audit.recorder import record
from filebay.catalog.audit import AuditQuery, decode_audit_cursor
from filebay.errors import LoginRefused, TooManyAttempts, Unauthorized, WrongCode
from filebay.http.deps import AdminDep, AuditDep, PrincipalDep, TemplatesDep, get_runtime
from filebay.http.openapi import AUTHENTICATED, errors

router = APIRouter(tags=["audit"])
pages = APIRouter(include_in_schema=False)


async def note(
    request: Request,
    type: str,
    *,
    actor: str | None,
    target: str | None = None,
    reason: str | None = None,
) -> None:
    """Record an event of this request (its address and user agent) in the audit log."""
    log = get_runtime(request).audit
    if log is not None:
        client = client_info(request)
        await record(log, type, actor=actor, client=client, target=target, reason=reason)


@contextlib.asynccontextmanager
async def failed_logins_noted(
    request: Request, username: str, other_failure: str = events.MFA_FAILED
) -> AsyncIterator[None]:
    """A refused login (password, second factor, passkey, or the limiter) is recorded with
    its cause (``other_failure`` for a refusal that is neither the password's nor the
    limiter's), then raised as it was. Refusals before any database work (too many checks
    at once) are not: a burst must stay cheap."""
    try:
        yield
    except LoginRefused as exc:
        await note(request, events.LOGIN_FAILED, actor=username or None, reason=exc.reason)
        raise
    except TooManyAttempts:
        await note(request, events.LOGIN_FAILED, actor=username or None, reason=events.LOCKED)
        raise
    except (Unauthorized, WrongCode):
        await note(request, events.LOGIN_FAILED, actor=username or None, reason=other_failure)
        raise


def _query(
    actor: str | None, type: str | None, since: datetime | None, cursor: str | None, limit: int
) -> AuditQuery:
    after = decode_audit_cursor(cursor) if cursor else None
    return AuditQuery(actor=actor, type=type, since=since, after=after, limit=limit)


@router.get(
    "/api/audit",
    summary="The audit log (admins): newest first, filtered, in keyset pages",
    responses=errors(*AUTHENTICATED, 400),
)
async def audit_events(
    _admin: AdminDep,
    log: AuditDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    page = await log.events(_query(actor, type, since, cursor, limit))
    return {
        "items": [e.to_json(with_reason=True) for e in page.items],
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/api/me/audit",
    summary="What you did (and the logins tried as you), newest first",
    responses=errors(*AUTHENTICATED, 400),
)
async def my_audit_events(
    principal: PrincipalDep,
    log: AuditDep,
    type: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    page = await log.events(_query(principal.username, type, since, cursor, limit))
    return {
        "items": [e.to_json(with_reason=False) for e in page.items],
        "next_cursor": page.next_cursor,
    }


@pages.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    admin: AdminDep,
    log: AuditDep,
    templates: TemplatesDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    """Rendered on the server: a table needs no script."""
    page = await log.events(_query(actor or None, type or None, None, cursor, 100))
    context = {
        "principal": admin,
        "events": page.items,
        "next_cursor": page.next_cursor,
        "actor": actor or "",
        "type": type or "",
    }
    return templates.TemplateResponse(request, "admin_audit.html", context)
