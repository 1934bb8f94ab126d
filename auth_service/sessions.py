"""One's sessions (DESIGN §8.4): listed with the device, address and last use, ended one
by one or all but this one ("sign out everywhere else")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from auth_service.audit import note
from filebay.audit import events
from filebay.auth.devices import describe
from filebay.auth.principal import Principal
from filebay.auth.secrets import secret_hash
from filebay.catalog.users import Directory, SessionInfo
from filebay.errors import NotFound
from filebay.http.deps import DirectoryDep, PrincipalDep, get_runtime
from filebay.http.openapi import AUTHENTICATED, errors

router = APIRouter(tags=["auth"])


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _public(session: SessionInfo, current: str | None) -> dict[str, Any]:
    return {
        "id": session.id,
        "device": describe(session.user_agent),
        "user_agent": session.user_agent,
        "address": session.address,
        "created_at": _iso(session.created_at),
        "last_used_at": _iso(session.last_used_at),
        "expires_at": _iso(session.expires_at),
        "current": session.id == current,
    }


def _current(principal: Principal) -> str | None:
    return secret_hash(principal.session_id) if principal.session_id else None


async def end_other_sessions(request: Request, directory: Directory, principal: Principal) -> int:
    """Every session of the caller but the one making this request; how many ended."""
    current = _current(principal)
    others = [s.id for s in await directory.list_sessions(principal.username) if s.id != current]
    ended = await directory.end_sessions(principal.username, others) if others else 0
    get_runtime(request).authenticator.forget(f"s:{principal.username}:")
    target = f"all others ({ended})"
    await note(request, events.SESSIONS_ENDED, actor=principal.username, target=target)
    return ended


@router.get("/api/me/sessions", summary="Your sessions", responses=errors(*AUTHENTICATED))
async def list_sessions(principal: PrincipalDep, directory: DirectoryDep) -> dict[str, Any]:
    current = _current(principal)
    sessions = await directory.list_sessions(principal.username)
    return {"items": [_public(s, current) for s in sessions]}


@router.delete(
    "/api/me/sessions/{session_id}",
    status_code=204,
    summary="End one of your sessions",
    response_class=Response,
    responses=errors(*AUTHENTICATED, 404),
)
async def end_session(
    request: Request, session_id: str, principal: PrincipalDep, directory: DirectoryDep
) -> Response:
    if await directory.end_sessions(principal.username, [session_id]) == 0:
        raise NotFound("no such session")
    get_runtime(request).authenticator.forget(f"s:{principal.username}:")
    await note(request, events.SESSION_ENDED, actor=principal.username, target=session_id[:16])
    return Response(status_code=204)


@router.delete(
    "/api/me/sessions",
    summary="Sign out everywhere else: end every session but this one",
    responses=errors(*AUTHENTICATED),
)
async def end_others(
    request: Request, principal: PrincipalDep, directory: DirectoryDep
) -> dict[str, int]:
    return {"ended": await end_other_sessions(request, directory, principal)}
