"""The background sweeper: expired resumable uploads, expired share links and orphan blobs.

It runs in the metadata service (and the all-in-one process). Every step is idempotent and
protected by a grace period, so several replicas may sweep at once. Orphan blobs follow the
rule of ``filebay.orphans`` (the deployment identity, the guard, the quarantine), the same
as ``filebay fsck --repair``."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from filebay.catalog.files import ListQuery
from filebay.errors import BlobNotFound, FilebayError, NotFound
from filebay.http.deps import Services
from filebay.observability.metrics import SWEPT, TUS_SESSIONS_OPEN
from filebay.orphans import establish_identity, restore_named, scan_orphans, sql_deployment
from filebay.storage.base import Sweepable
from filebay.transfer.tus.service import TusService

log = logging.getLogger("filebay.sweeper")

# Share rows stay a day past expiry so their links answer 404 like every other dead link,
# then they go.
SHARE_RETENTION = timedelta(days=1)


async def sweep_once(services: Services, *, orphans: bool) -> dict[str, int]:
    """One pass; how many leftovers of each kind were removed."""
    settings = services.settings
    removed = {
        "tus_upload": 0,
        "share": 0,
        "deleted_owner_file": 0,
        "orphan_blob": 0,  # moved into the quarantine
        "quarantine_expired": 0,  # deleted after the quarantine
        "quarantine_restored": 0,  # named by a record again, moved back
        "stale_temp": 0,
    }
    store = services.store
    if store is None:
        return removed
    tus = TusService(
        store,
        services.catalog,
        services.uploads,
        max_size=settings.max_upload_bytes,
        expiry_seconds=settings.tus_expiry_seconds,
    )
    removed["tus_upload"] = await tus.sweep()
    TUS_SESSIONS_OPEN.set(await services.uploads.count_uploads())
    if services.shares is not None:
        removed["share"] = await services.shares.delete_expired(datetime.now(UTC) - SHARE_RETENTION)
    if services.directory is not None:
        removed["deleted_owner_file"] = await _files_of_deleted_users(services)
    deployment = sql_deployment(services.catalog)
    if deployment is not None:
        # Written at start; again here when that failed (the database was down) or when the
        # store was empty then. Reads only, once both sides have it.
        await establish_identity(deployment, store)
        # A restored catalog names quarantined blobs again: back they go, without waiting
        # for the next orphan pass.
        removed["quarantine_restored"] = len(await restore_named(deployment, store))
    if orphans and deployment is not None:
        found = await scan_orphans(
            deployment,
            store,
            repair=True,
            grace=timedelta(seconds=settings.temp_grace_seconds),
            quarantine_for=timedelta(seconds=settings.orphan_quarantine_seconds),
            ratio=settings.orphan_guard_ratio,
        )
        if found.refused is not None:
            log.warning(
                "orphan sweep refused, no blob moved or deleted: %s (%d of %d blobs have no "
                "record in this catalog)",
                found.refused,
                len(found.orphans),
                found.blobs,
            )
        removed["orphan_blob"] = len(found.quarantined)
        removed["quarantine_expired"] = len(found.deleted)
        removed["quarantine_restored"] += len(found.restored)
    if orphans and isinstance(store, Sweepable):
        grace = timedelta(seconds=settings.temp_grace_seconds)
        now = datetime.now(UTC)
        async for temp in store.iter_temps():
            if now - temp.modified_at >= grace:
                try:
                    await store.remove_temp(temp.key)
                except BlobNotFound:
                    continue
                removed["stale_temp"] += 1
    for kind, count in removed.items():
        if count:
            SWEPT.labels(kind).inc(count)
    return removed


async def _files_of_deleted_users(services: Services) -> int:
    """Files whose owner no longer exists: uploads that landed after the account was deleted,
    while a service still trusted its token (at most FILEBAY_REVOCATION_SECONDS)."""
    assert services.directory is not None and services.store is not None
    known = {user.username for user in await services.directory.list_users()}
    removed = 0
    for owner in await services.catalog.owners():
        if owner in known:
            continue
        while True:
            page = await services.catalog.list(owner, ListQuery(limit=500))
            if not page.items:
                break
            for record in page.items:
                try:
                    await services.catalog.delete(record.id, owner)
                except NotFound:
                    continue
                await services.store.delete(record.blob_key)
                removed += 1
    return removed


async def sweep_forever(services: Services) -> None:
    """Every ``FILEBAY_SWEEP_SECONDS``; orphan blobs every ``FILEBAY_ORPHAN_SWEEP_SECONDS``
    (listing a large store is not free)."""
    settings = services.settings
    last_orphans = time.monotonic()
    while True:
        await asyncio.sleep(settings.sweep_seconds)
        orphans = time.monotonic() - last_orphans >= settings.orphan_sweep_seconds
        try:
            removed = await sweep_once(services, orphans=orphans)
        except (FilebayError, OSError) as exc:  # catalog or store down: try next time
            log.warning("sweep failed: %s", exc)
            continue
        except Exception:  # anything else must not end the sweeping for the process's life
            log.exception("sweep failed")
            continue
        if orphans:
            last_orphans = time.monotonic()
        if any(removed.values()):
            log.info("sweeper removed %s", removed)
