"""Builds a service's FastAPI app: lifespan wiring, error handlers, health, static files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from filebay import __version__
from filebay.config import Service, Settings
from filebay.errors import FilebayError
from filebay.http.deps import Services, get_services
from filebay.http.errors import install_error_handlers
from filebay.http.format import install_filters
from filebay.http.limits import BodyLimitMiddleware
from filebay.http.origins import add_cors, browser_bases, page_origins
from filebay.http.security import SecurityHeadersMiddleware
from filebay.observability.metrics import REGISTRY
from filebay.observability.middleware import ObservabilityMiddleware
from filebay.orphans import readiness, sql_deployment
from filebay.transfer.tus.override import TusMethodOverride

log = logging.getLogger("filebay")


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: catalog and blob store reachable, schema current, same deployment",
    )
    async def readyz(request: Request) -> JSONResponse:
        services = get_services(request)
        checks: dict[str, str] = {}
        parts: list[tuple[str, Any]] = [("catalog", services.catalog)]
        if services.store is not None:
            parts.append(("blob_store", services.store))
        for name, part in parts:
            try:
                await part.ping()
                checks[name] = "ok"
            except FilebayError as exc:
                checks[name] = exc.detail
        deployment = sql_deployment(services.catalog)
        if deployment is not None and checks["catalog"] == "ok":
            try:
                # (Nothing to compare with a store that does not answer: it says so above.)
                store = services.store if checks.get("blob_store") == "ok" else None
                checks.update(await readiness(deployment, store))
            except FilebayError as exc:
                checks["deployment"] = exc.detail
        problems = [f"{name}: {value}" for name, value in checks.items() if value != "ok"]
        body: dict[str, Any] = {"status": "unavailable" if problems else "ok", "checks": checks}
        if problems:
            body["detail"] = "; ".join(problems)
        return JSONResponse(body, status_code=503 if problems else 200)

    return router


def docs_router(title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    async def docs(request: Request) -> HTMLResponse:
        templates: Jinja2Templates = request.app.state.templates
        return templates.TemplateResponse(
            request, "docs.html", {"title": title, "openapi_url": "/openapi.json"}
        )

    return router


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

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
        # FastAPI's own pages load Swagger UI from a CDN with an inline script; ours below
        # serve the vendored copy under the strict CSP.
        docs_url=None,
        redoc_url=None,
    )
    app.state.templates = Jinja2Templates(directory=str(settings.templates_dir))
    install_filters(app.state.templates)
    # Where the pages find each service (other origins in the split shape).
    app.state.templates.env.globals.update(browser_bases(settings))
    install_error_handlers(app)
    app.add_middleware(TusMethodOverride)
    app.add_middleware(SecurityHeadersMiddleware, origins=page_origins(settings))
    add_cors(app, settings)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.json_body_max_bytes,
        idle_seconds=settings.body_idle_seconds,
    )
    # Outermost, so the request id and timing cover everything below, errors included.
    app.add_middleware(ObservabilityMiddleware, service=service.value)
    # The service's own routes first: they carry the traffic (see filebay_server.app._hot_first).
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    app.include_router(metrics_router())
    app.include_router(docs_router(app.title))
    if settings.static_dir.is_dir():
        app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    return app
