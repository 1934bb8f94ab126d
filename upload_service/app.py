"""The upload service app (split shape: its catalog is the metadata service over HTTP)."""

from __future__ import annotations

from fastapi import FastAPI

from filebay.config import Service, Settings
from filebay.http.app import EdgeHooks, build_app
from filebay.transfer.tus.override import TusMethodOverride
from filebay.wiring import open_remote
from upload_service import pages, routes, tus

ROUTERS = [routes.router, tus.router, pages.router]
#: What the upload routes ask of the HTTP edge: their bodies are theirs to count, tus wants
#: its headers on errors and its method override before routing.
EDGE = EdgeHooks(
    own_body=(*routes.OWN_BODY, *tus.OWN_BODY),
    on_error=(tus.error_headers,),
    middleware=(TusMethodOverride,),
)


def create_app(settings: Settings) -> FastAPI:
    return build_app(
        settings,
        service=Service.upload,
        routers=ROUTERS,
        open_services=open_remote,
        hooks=[EDGE],
    )
