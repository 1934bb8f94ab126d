"""The periodic sweep of expired resumable uploads (runs in the upload service)."""

from __future__ import annotations

import asyncio
import logging

from filebay.errors import FilebayError
from filebay.tus.service import TusService
from filebay.web.state import Services

log = logging.getLogger("filebay.sweeper")


async def sweep_expired_uploads(services: Services) -> None:
    """Every ``FILEBAY_SWEEP_SECONDS``: drop uploads past their ``Upload-Expires``."""
    settings = services.settings
    if services.store is None:
        return
    tus = TusService(
        services.store,
        services.catalog,
        services.uploads,
        max_size=settings.max_upload_bytes,
        expiry_seconds=settings.tus_expiry_seconds,
    )
    while True:
        await asyncio.sleep(settings.sweep_seconds)
        try:
            removed = await tus.sweep()
        except (FilebayError, OSError) as exc:  # catalog or store down: try next time
            log.warning("sweep of expired uploads failed: %s", exc)
            continue
        if removed:
            log.info("removed %d expired uploads", removed)
