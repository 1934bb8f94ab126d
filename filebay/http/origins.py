"""Where the browser finds each service, and what that allows (CSP, CORS).

All in one process, every base is empty: the pages call their own origin. In the split
shape the UI on the upload service calls the metadata, download and auth services, so
their public URLs (``FILEBAY_METADATA_URL``, ``FILEBAY_DOWNLOAD_URL``, ``FILEBAY_AUTH_URL``)
must be reachable from the browser, under the same host name as ``FILEBAY_UI_URL``: the
session cookie belongs to a host name, not a port, and reaches every service that way.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from filebay.config import Service, Settings

# What the pages' script sends and reads across origins (tus headers included, so a tus
# client on another origin works too).
CORS_HEADERS = [
    "Authorization",
    "Content-Type",
    "Range",
    "X-CSRF-Token",
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "Upload-Checksum",
    "X-HTTP-Method-Override",
]
CORS_EXPOSED = [
    "Content-Disposition",
    "Content-Range",
    "ETag",
    "Location",
    "Retry-After",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
]
CORS_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"]


def _base(url: str | None) -> str:
    return (url or "").rstrip("/")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def browser_bases(settings: Settings) -> dict[str, str]:
    """Template globals: the base URL the pages use per service ('' = this origin)."""
    split = settings.service != Service.all
    return {
        "ui_base": _base(settings.ui_url),
        "auth_base": _base(settings.auth_url),
        "metadata_base": _base(settings.metadata_url) if split else "",
        "download_base": _base(settings.download_url),
    }


def page_origins(settings: Settings) -> list[str]:
    """Other origins a page may fetch from, show images and media of, and frame."""
    return sorted({origin_of(url) for url in browser_bases(settings).values() if url})


def cors_origins(settings: Settings) -> list[str]:
    """Origins whose pages call this service: the UI, and the download page's service."""
    return sorted({origin_of(url) for url in (settings.ui_url, settings.download_url) if url})


def add_cors(app: FastAPI, settings: Settings) -> None:
    """Let the UI's origin call this service with the session cookie (split shape only)."""
    if not settings.ui_url:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=cors_origins(settings),
        allow_credentials=True,
        allow_methods=CORS_METHODS,
        allow_headers=CORS_HEADERS,
        expose_headers=CORS_EXPOSED,
        max_age=600,
    )
