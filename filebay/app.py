"""The app for a service, or all four in one process (the embedded default)."""

from __future__ import annotations

from fastapi import FastAPI

from filebay.config import Service, Settings
from filebay.web.app import build_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app that ``filebay serve`` runs for ``settings.service``."""
    settings = settings or Settings()
    if settings.service == Service.upload:
        from upload_service.app import create_app as upload_app

        return upload_app(settings)
    if settings.service == Service.download:
        from download_service.app import create_app as download_app

        return download_app(settings)
    if settings.service == Service.metadata:
        from metadata_service.app import create_app as metadata_app

        return metadata_app(settings)
    if settings.service == Service.auth:
        from auth_service.app import create_app as auth_app

        return auth_app(settings)
    return _all_in_one(settings)


def _all_in_one(settings: Settings) -> FastAPI:
    # One process, the catalog used directly: no HTTP hop between the services.
    from auth_service.app import ROUTERS as AUTH
    from auth_service.app import open_auth
    from download_service.app import ROUTERS as DOWNLOAD
    from filebay.sweeper import sweep_forever
    from metadata_service import routes as metadata_routes
    from metadata_service import shares as metadata_shares
    from upload_service.app import ROUTERS as UPLOAD

    return build_app(
        settings,
        service=Service.all,
        routers=[*AUTH, *UPLOAD, metadata_routes.router, metadata_shares.router, *DOWNLOAD],
        open_services=open_auth,
        background=[sweep_forever],
    )
