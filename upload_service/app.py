"""The upload service app (split shape: its catalog is the metadata service over HTTP)."""

from __future__ import annotations

from fastapi import FastAPI

from filebay.config import Service, Settings
from filebay.http.app import build_app
from filebay.wiring import open_remote
from upload_service import pages, routes, tus

ROUTERS = [routes.router, tus.router, pages.router]


def create_app(settings: Settings) -> FastAPI:
    return build_app(
        settings,
        service=Service.upload,
        routers=ROUTERS,
        open_services=open_remote,
    )
