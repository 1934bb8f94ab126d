"""Which catalog a service that does not own the database talks to."""

from __future__ import annotations

from filebay.catalog.http import HttpCatalog
from filebay.config import Settings

DEFAULT_METADATA_URL = "http://127.0.0.1:8002"


async def open_http_catalog(settings: Settings) -> HttpCatalog:
    return HttpCatalog(
        settings.metadata_url or DEFAULT_METADATA_URL,
        settings.resolved_service_token(),
        timeout=settings.catalog_timeout,
    )
