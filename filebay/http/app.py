"""Builds a service's FastAPI app: lifespan wiring, error handlers, health, static files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp

from filebay import __version__
from filebay.config import Service, Settings
from filebay.errors import FilebayError
from filebay.http.deps import get_runtime, missing_capabilities
from filebay.http.errors import ErrorHook, install_error_handlers
from filebay.http.format import install_filters
from filebay.http.limits import BodyLimitMiddleware, OwnBody
from filebay.http.origins import add_cors, browser_bases, page_origins
from filebay.http.security import SecurityHeadersMiddleware
from filebay.observability.metrics import REGISTRY
from filebay.observability.middleware import ObservabilityMiddleware
from filebay.runtime import Runtime
from filebay.upkeep.identity import readiness, sql_deployment

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
        services = get_runtime(request)
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


@dataclass(frozen=True, slots=True)
class EdgeHooks:
    """What a service's routes ask of the HTTP edge besides routing, declared next to those
    routes (the edge itself knows no service's paths)."""

    #: Requests that stream and count their own bodies: the JSON body limit leaves them alone.
    own_body: tuple[OwnBody, ...] = ()
    #: Run on every ``FilebayError`` answer.
    on_error: tuple[ErrorHook, ...] = ()
    #: ASGI middleware run innermost, just before routing.
    middleware: tuple[Callable[[ASGIApp], ASGIApp], ...] = ()


class MissingCapability(Exception):
    """A service mounts routes that need what its runtime does not have: it does not start."""


def check_capabilities(routers: Iterable[APIRouter], runtime: Runtime) -> None:
    """Every route of ``routers`` finds what it needs in ``runtime``, or ``MissingCapability``."""
    routes = [route for router in routers for route in router.routes]
    missing = missing_capabilities(routes, runtime.capabilities())
    if missing:
        raise MissingCapability(
            "; ".join(f"no {need} for {', '.join(routes)}" for need, routes in missing.items())
        )


def build_app(
    settings: Settings,
    *,
    service: Service,
    routers: Iterable[APIRouter],
    open_services: Callable[[Settings], Awaitable[Runtime]],
    on_start: Callable[[FastAPI], Any] | None = None,
    background: Iterable[Callable[[Runtime], Awaitable[None]]] = (),
    hooks: Iterable[EdgeHooks] = (),
) -> FastAPI:
    """A FastAPI app for ``service``: ``open_services`` is awaited in the lifespan (which
    fails, and the service does not start, when a route needs a capability the runtime
    lacks) and the ``background`` loops run until shutdown."""
    edge = tuple(hooks)
    routers = list(routers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await open_services(settings)
        try:
            check_capabilities(routers, services)
        except BaseException:
            await services.close()
            raise
        app.state.runtime = services
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
    install_error_handlers(app, [hook for h in edge for hook in h.on_error])
    for h in edge:
        for middleware in h.middleware:
            app.add_middleware(middleware)
    app.add_middleware(SecurityHeadersMiddleware, origins=page_origins(settings))
    add_cors(app, settings)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.json_body_max_bytes,
        idle_seconds=settings.body_idle_seconds,
        own_body=[rule for h in edge for rule in h.own_body],
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
