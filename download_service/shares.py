"""Public share pages: ``/s/{token}`` (page, password form) and ``/s/{token}/content``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from filebay.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    admit_check,
    hashing_bound,
    verify_password,
)
from filebay.auth.secrets import secret_hash
from filebay.catalog.files import FileRecord
from filebay.catalog.shares import Share
from filebay.errors import NotFound, TooManyAttempts
from filebay.http.deps import (
    CatalogDep,
    LimiterDep,
    SettingsDep,
    ShareLookupDep,
    StoreDep,
    TemplatesDep,
)
from filebay.http.openapi import content_responses
from filebay.sharing import (
    TICKET_SECONDS,
    UNLOCK_SECONDS,
    check_grant,
    cookie_name,
    issue_grant,
)
from filebay.transfer.content import check_preconditions, content_response
from filebay.transfer.disposition import can_inline
from filebay.transfer.ranges import if_range_allows, not_modified, parse_range

router = APIRouter(tags=["shares"])

SHARE_GONE = "This link does not exist, has expired, or has been used up."
MAX_TOKEN = 128
PASSWORD_FAILURES = 10


async def _open(
    token: str, lookup: ShareLookupDep, catalog: CatalogDep
) -> tuple[Share, FileRecord]:
    """The usable share and its file; one 404 for every reason it is not usable."""
    share = await lookup.find_share(secret_hash(token)) if len(token) <= MAX_TOKEN else None
    if share is None or not share.usable(datetime.now(UTC)):
        raise NotFound(SHARE_GONE)
    try:
        record = await catalog.get(share.file_id, None)
    except NotFound:
        raise NotFound(SHARE_GONE) from None
    return share, record


def _unlocked(request: Request, share: Share, secret: str) -> bool:
    if share.password_hash is None:
        return True
    return check_grant(secret, "unlock", share, request.cookies.get(cookie_name("unlock", share)))


def _secret(settings: SettingsDep) -> str:
    return settings.resolved_service_token()


@router.api_route(
    "/s/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False
)
async def share_page(
    token: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    share, record = await _open(token, lookup, catalog)
    unlocked = _unlocked(request, share, _secret(settings))
    return templates.TemplateResponse(
        request,
        "share.html",
        {
            "token": token,
            "file": record if unlocked else None,
            "locked": not unlocked,
            "share": share,
            # A preview fetches the content, which would count against a download limit.
            "preview": unlocked and share.max_downloads is None and can_inline(record.content_type),
            "principal": None,
            "error": None,
        },
    )


@router.post("/s/{token}", response_class=HTMLResponse, include_in_schema=False)
async def unlock(
    token: str,
    request: Request,
    password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH)],
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    templates: TemplatesDep,
) -> Response:
    share, _record = await _open(token, lookup, catalog)
    if share.password_hash is None:
        return RedirectResponse(f"/s/{token}", status_code=303)
    address = request.client.host if request.client else "unknown"
    keys = [f"share:{share.id}", f"addr:{address}"]
    window = settings.login_window_seconds
    limits = [PASSWORD_FAILURES, settings.login_max_failures_per_address]
    # Admitted first (a burst is refused in memory), then counted before the check, in one
    # transaction with the limits: parallel guesses meet them as guesses one at a time do.
    with admit_check(address, hashing_bound(settings)) as admission:
        wait = await limiter.reserve_login_attempt(keys, limits, window)
        if wait:
            raise TooManyAttempts(wait)
        ok = await verify_password(share.password_hash, password, admission=admission)
        if ok:
            # The link's count starts again; the address keeps its other failures.
            await limiter.release_login_attempt(keys[1:], keys[:1])
    if not ok:
        return templates.TemplateResponse(
            request,
            "share.html",
            {
                "token": token,
                "file": None,
                "locked": True,
                "share": share,
                "preview": False,
                "principal": None,
                "error": "Wrong password.",
            },
            status_code=401,
        )
    response = RedirectResponse(f"/s/{token}", status_code=303)
    response.set_cookie(
        cookie_name("unlock", share),
        issue_grant(_secret(settings), "unlock", share, UNLOCK_SECONDS),
        max_age=UNLOCK_SECONDS,
        path=f"/s/{token}",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


# Two decorators, not one api_route: each method gets its own operation id in the schema.
@router.get(
    "/s/{token}/content",
    summary="A shared file's bytes",
    response_class=Response,
    responses=content_responses(),
)
@router.head(
    "/s/{token}/content",
    summary="A shared file's headers, without its bytes",
    response_class=Response,
    responses=content_responses(),
)
async def share_content(
    token: str,
    request: Request,
    lookup: ShareLookupDep,
    catalog: CatalogDep,
    store: StoreDep,
    settings: SettingsDep,
    inline: Annotated[bool, Query()] = False,
    range: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
    if_match: Annotated[str | None, Header()] = None,
    if_unmodified_since: Annotated[str | None, Header()] = None,
) -> Response:
    """Counts one download per client: a browser resuming with Range (it carries the ticket
    cookie from its first request) is not counted again; HEAD, 304 and 416 are never
    counted."""
    secret = _secret(settings)
    share = await lookup.find_share(secret_hash(token)) if len(token) <= MAX_TOKEN else None
    if share is None:
        raise NotFound(SHARE_GONE)
    if not _unlocked(request, share, secret):
        # Fail closed on every path: page, content, HEAD and Range alike.
        raise NotFound(SHARE_GONE)
    ticket = request.cookies.get(cookie_name("ticket", share))
    resumed = check_grant(secret, "ticket", share, ticket)
    now = datetime.now(UTC)
    if share.expires_at is not None and share.expires_at <= now:
        raise NotFound(SHARE_GONE)
    if not resumed and not share.usable(now):
        raise NotFound(SHARE_GONE)
    try:
        record = await catalog.get(share.file_id, None)
    except NotFound:
        raise NotFound(SHARE_GONE) from None
    check_preconditions(record, if_match, if_unmodified_since)  # a 412 is not a download
    counted = False
    etag = f'"{record.sha256}"'
    # A 304 sends no bytes either: a cache revalidating is not a download.
    if request.method == "GET" and not resumed and not not_modified(if_none_match, etag):
        if if_range_allows(if_range, etag, record.created_at):
            parse_range(range, record.size)  # a 416 sends no bytes: it is not a download
        if not await lookup.count_download(share.id, now):
            raise NotFound(SHARE_GONE)
        counted = True
    response = await content_response(
        record,
        store,
        method=request.method,
        range_header=range,
        if_none_match=if_none_match,
        if_range=if_range,
        inline=inline,
    )
    if counted:
        response.set_cookie(
            cookie_name("ticket", share),
            issue_grant(secret, "ticket", share, TICKET_SECONDS),
            max_age=TICKET_SECONDS,
            path=f"/s/{token}",
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
    return response
