"""One place that turns errors into HTTP answers: JSON for the API, a page for HTML routes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from filebay.errors import (
    CatalogUnavailable,
    ClientGone,
    FilebayError,
    HashingBusy,
    RangeNotSatisfiable,
    StorageFull,
    StorageUnavailable,
    TooManyAttempts,
    Unauthorized,
)
from filebay.observability.metrics import BLOB_ERRORS, CATALOG_ERRORS

log = logging.getLogger("filebay")


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/internal/")) or path in ("/healthz", "/readyz"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, detail: str, code: str, extra: dict[str, str] | None = None
) -> Response:
    headers: dict[str, str] = {}
    if _wants_html(request):
        templates = getattr(request.app.state, "templates", None)
        if templates is not None:
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": status, "detail": detail},
                status_code=status,
                headers=headers,
            )
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)
    body = {"detail": detail, "code": code, **(extra or {})}
    return JSONResponse(body, status_code=status, headers=headers)


def _count(exc: FilebayError) -> None:
    if isinstance(exc, CatalogUnavailable):
        CATALOG_ERRORS.inc()
    elif isinstance(exc, StorageUnavailable | StorageFull):
        BLOB_ERRORS.labels(exc.code).inc()


def _login_redirect(request: Request) -> Response:
    settings = request.app.state.runtime.settings
    login = (settings.auth_url or "").rstrip("/") + "/login"
    query = f"?{request.url.query}" if request.url.query else ""
    here = str(request.url) if settings.auth_url else request.url.path + query
    return RedirectResponse(f"{login}?{urlencode({'next': here})}", status_code=303)


#: Adds what a service's protocol wants on its error answers (tus: its version headers).
ErrorHook = Callable[[Request, FilebayError, Response], None]


async def _filebay_error(
    request: Request, exc: Exception, on_error: tuple[ErrorHook, ...] = ()
) -> Response:
    assert isinstance(exc, FilebayError)
    if isinstance(exc, Unauthorized) and _wants_html(request):
        return _login_redirect(request)
    response = error_response(request, exc.status, exc.detail, exc.code, exc.extra)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RangeNotSatisfiable):
        response.headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, TooManyAttempts | HashingBusy):
        response.headers["Retry-After"] = str(exc.retry_after)
    elif exc.status == 503:
        response.headers["Retry-After"] = "5"
    _count(exc)
    for hook in on_error:
        hook(request, exc, response)
    return response


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody is listening; the status only shows up in the access log.
    return Response(status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = error_response(request, exc.status_code, str(exc.detail), "http_error")
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # A JSON body that does not parse is a 422; query and path parameters, and form bodies
    # (a form without its field, say), are a 400 (DESIGN §5).
    in_body = any(err.get("loc", ("",))[0] == "body" for err in exc.errors())
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    status = 422 if in_body and is_json else 400
    detail = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}" for err in exc.errors()
    )
    return JSONResponse({"detail": detail, "code": "invalid_request"}, status_code=status)


def install_error_handlers(app: FastAPI, on_error: Iterable[ErrorHook] = ()) -> None:
    """The handlers; ``on_error`` hooks see every ``FilebayError`` answer before it goes."""
    hooks = tuple(on_error)

    async def filebay_error(request: Request, exc: Exception) -> Response:
        return await _filebay_error(request, exc, hooks)

    app.add_exception_handler(FilebayError, filebay_error)
    app.add_exception_handler(ClientGone, _client_gone)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
