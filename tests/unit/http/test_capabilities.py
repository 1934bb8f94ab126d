"""Capabilities are resolved at start-up: a service whose routes need what its runtime lacks
does not start (no request meets a missing one); the body limit's exemptions are declared by
the routes that count their own bytes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi import APIRouter

from filebay.config import Service, Settings
from filebay.http.app import MissingCapability, build_app
from filebay.http.deps import DirectoryDep, SettingsDep, missing_capabilities
from filebay.http.limits import BodyLimitMiddleware
from filebay.runtime import Runtime
from upload_service import routes as upload_routes
from upload_service import tus as tus_routes
from upload_service.app import EDGE


def _runtime(settings: Settings, closed: list[bool], **optional: Any) -> Runtime:
    async def close() -> None:
        closed.append(True)

    part = cast(Any, object())
    return Runtime(
        settings=settings,
        catalog=part,
        store=part,
        authenticator=part,
        uploads=part,
        share_lookup=part,
        login_limiter=part,
        closers=[close],
        **optional,
    )


def _users_router() -> APIRouter:
    router = APIRouter()

    @router.get("/users")
    async def users(directory: DirectoryDep) -> list[str]:
        return []

    @router.get("/plain")
    async def plain(settings: SettingsDep) -> str:
        return settings.service.value

    return router


def _start(settings: Settings, runtime: Runtime) -> None:
    async def opened(_settings: Settings) -> Runtime:
        return runtime

    app = build_app(
        settings, service=Service.download, routers=[_users_router()], open_services=opened
    )

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(scenario())


def test_a_route_needing_what_the_runtime_lacks_stops_the_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    closed: list[bool] = []
    with pytest.raises(MissingCapability, match="no directory for GET /users"):
        _start(settings, _runtime(settings, closed))
    assert closed == [True]  # what was opened is closed again


def test_a_runtime_with_what_the_routes_need_starts(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    closed: list[bool] = []
    _start(settings, _runtime(settings, closed, directory=cast(Any, object())))
    assert closed == [True]


def test_needs_are_read_from_the_dependency_tree() -> None:
    routes = _users_router().routes
    assert missing_capabilities(routes, []) == {"directory": ["GET /users"]}
    assert missing_capabilities(routes, ["directory"]) == {}
    # tus needs a blob store that stages; the raw and multipart uploads do not.
    assert set(missing_capabilities(tus_routes.router.routes, [])) == {"staging"}
    assert missing_capabilities(upload_routes.router.routes, []) == {}


@pytest.mark.parametrize(
    ("method", "path", "own"),
    [
        ("PUT", "/api/upload/a.txt", True),
        ("GET", "/api/upload/a.txt", True),
        # No name: the route answers 400 before reading, not the body limit's 413.
        ("PUT", "/api/upload", True),
        ("POST", "/api/files", True),
        ("GET", "/api/files", False),
        ("POST", "/api/files/x", False),
        ("POST", "/api/tus/", True),
        ("PATCH", "/api/tus/abc", True),
        ("POST", "/api/tus", True),
        ("POST", "/api/shares", False),
        ("POST", "/api/auth/login", False),
    ],
)
def test_the_upload_routes_count_their_own_bodies(method: str, path: str, own: bool) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        pass

    limit = BodyLimitMiddleware(app, limit=10, own_body=EDGE.own_body)
    assert limit._owns_body({"type": "http", "method": method, "path": path}) is own
