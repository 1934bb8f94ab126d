"""The metadata service app: public record routes and the internal catalog API."""

from __future__ import annotations

from fastapi import FastAPI

from filebay.config import Service, Settings
from filebay.http.app import EdgeHooks, build_app
from filebay.runtime import Runtime
from filebay.upkeep.sweeper import sweep_forever
from filebay.wiring import open_local
from metadata_service import folders, internal, routes, shares, trash, trash_page


async def open_metadata(settings: Settings) -> Runtime:
    return await open_local(settings, signs=False)


def create_app(settings: Settings) -> FastAPI:
    def on_start(app: FastAPI) -> None:
        app.state.service_token = settings.resolved_service_token()

    return build_app(
        settings,
        service=Service.metadata,
        routers=[
            routes.router,
            folders.router,
            shares.router,
            trash.router,
            internal.router,
            trash_page.router,
        ],
        open_services=open_metadata,
        on_start=on_start,
        background=[sweep_forever],
        hooks=[EdgeHooks(own_body=internal.OWN_BODY)],
    )
