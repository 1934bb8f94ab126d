"""The metadata service app: public record routes and the internal catalog API."""

from __future__ import annotations

from fastapi import FastAPI

from filebay.catalog.sql import SqlCatalog
from filebay.config import Service, Settings
from filebay.web.app import build_app
from metadata_service import internal, routes


async def open_sql_catalog(settings: Settings) -> SqlCatalog:
    return await SqlCatalog.open(settings.effective_database_url)


def create_app(settings: Settings) -> FastAPI:
    def on_start(app: FastAPI) -> None:
        app.state.service_token = settings.resolved_service_token()

    return build_app(
        settings,
        service=Service.metadata,
        routers=[routes.router, internal.router],
        open_catalog=open_sql_catalog,
        on_start=on_start,
    )
