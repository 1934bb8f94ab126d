"""The app for a service, or all four in one process (the embedded default)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from filebay.config import Service, Settings
from filebay.http.app import build_app
from filebay.http.protocol import HeadDeadlineProtocol


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app that ``filebay serve`` runs for ``settings.service``."""
    settings = settings or Settings()
    # Each process serves one service's settings, worker processes included (they run this).
    HeadDeadlineProtocol.seconds = settings.header_timeout_seconds
    HeadDeadlineProtocol.max_bytes = settings.max_header_bytes
    HeadDeadlineProtocol.max_count = settings.max_header_count
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
    from download_service.app import EDGE as DOWNLOAD_EDGE
    from download_service.app import ROUTERS as DOWNLOAD
    from filebay.upkeep.sweeper import sweep_forever
    from metadata_service import folders as metadata_folders
    from metadata_service import routes as metadata_routes
    from metadata_service import shares as metadata_shares
    from metadata_service import trash as metadata_trash
    from metadata_service import trash_page as metadata_trash_page
    from upload_service.app import EDGE as UPLOAD_EDGE
    from upload_service.app import ROUTERS as UPLOAD

    return build_app(
        settings,
        service=Service.all,
        routers=_hot_first(
            AUTH,
            UPLOAD,
            [
                metadata_routes.router,
                metadata_folders.router,
                metadata_shares.router,
                metadata_trash.router,
                metadata_trash_page.router,
            ],
            DOWNLOAD,
        ),
        open_services=open_auth,
        background=[sweep_forever],
        hooks=[UPLOAD_EDGE, DOWNLOAD_EDGE],
    )


def _hot_first(*services: list[APIRouter]) -> list[APIRouter]:
    """Every service's API routers before any page router, the busiest first.

    FastAPI tries routers in order and each miss costs a regex per route: the upload and
    download routes first saved 15-25 route tests per request. API paths (``/api/…``,
    ``/s/…``) never overlap the pages, and the pages keep their own order.
    """
    auth, upload, metadata, download = services
    upload_api, tus, upload_pages = upload
    download_api, download_shares, download_pages, download_thumbnails, *download_more = download
    auth_api, auth_pages = auth
    return [
        upload_api,
        download_api,
        *metadata,
        tus,
        download_thumbnails,
        *download_more,
        download_shares,
        auth_api,
        auth_pages,
        upload_pages,
        download_pages,
    ]
