"""Builds a service's FastAPI app: lifespan wiring, error handlers, health, static files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from filebay import __version__
from filebay.config import Service, Settings
from filebay.errors import FilebayError
from filebay.web.errors import install_error_handlers
from filebay.web.format import install_filters
from filebay.web.security import SecurityHeadersMiddleware
from filebay.web.state import Services, get_services

log = logging.getLogger("filebay")


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: catalog and blob store reachable")
    async def readyz(request: Request) -> JSONResponse:
        services = get_services(request)
        checks: dict[str, str] = {}
        ok = True
        parts: list[tuple[str, Any]] = [("catalog", services.catalog)]
        if services.store is not None:
            parts.append(("blob_store", services.store))
        for name, part in parts:
            try:
                await part.ping()
                checks[name] = "ok"
            except FilebayError as exc:
                checks[name] = exc.detail
                ok = False
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )

    return router


def build_app(
    settings: Settings,
    *,
    service: Service,
    routers: Iterable[APIRouter],
    open_services: Callable[[Settings], Awaitable[Services]],
    on_start: Callable[[FastAPI], Any] | None = None,
    background: Iterable[Callable[[Services], Awaitable[None]]] = (),
) -> FastAPI:
    """A FastAPI app for ``service``: ``open_services`` is awaited in the lifespan and the
    ``background`` loops run until shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await open_services(settings)
        app.state.services = services
        if on_start is not None:
            on_start(app)
        tasks = [asyncio.create_task(loop(services)) for loop in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.close()

    app = FastAPI(
        title=f"filebay {service.value}" if service != Service.all else "filebay",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.templates = Jinja2Templates(directory=str(settings.templates_dir))
    install_filters(app.state.templates)
    # Where the login page and the user admin live (another origin in the split shape).
    app.state.templates.env.globals["auth_base"] = (settings.auth_url or "").rstrip("/")
    install_error_handlers(app)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    if settings.static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    return app
