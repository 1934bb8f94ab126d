"""The download service app (split shape: its catalog is the metadata service over HTTP)."""

from __future__ import annotations

from fastapi import FastAPI

from download_service import folder_shares, pages, routes, shares, thumbnails, zips
from filebay.config import Service, Settings
from filebay.http.app import EdgeHooks, build_app
from filebay.wiring import open_remote

ROUTERS = [
    routes.router,
    shares.router,
    pages.router,
    thumbnails.router,
    zips.router,
    folder_shares.router,
]
#: What the download routes ask of the HTTP edge: ``POST /api/zip`` counts its own body.
EDGE = EdgeHooks(own_body=zips.OWN_BODY)


def create_app(settings: Settings) -> FastAPI:
    return build_app(
        settings,
        service=Service.download,
        routers=ROUTERS,
        open_services=open_remote,
        hooks=[EDGE],
    )
