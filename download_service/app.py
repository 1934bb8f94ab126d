"""The download service app (split shape: its catalog is the metadata service over HTTP)."""

from __future__ import annotations

from fastapi import FastAPI

from download_service import pages, routes, shares
from filebay.config import Service, Settings
from filebay.http.app import build_app
from filebay.wiring import open_remote

ROUTERS = [routes.router, shares.router, pages.router]


def create_app(settings: Settings) -> FastAPI:
    return build_app(settings, service=Service.download, routers=ROUTERS, open_services=open_remote)
