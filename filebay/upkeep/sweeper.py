"""The background sweeper: the upkeep scan in repair mode, on a timer.

It runs in the metadata service (and the all-in-one process). Every step is idempotent and
protected by a grace period, so several replicas may sweep at once. Orphan blobs follow the
rule of ``filebay.upkeep.orphans`` (the deployment identity, the guard, the quarantine), the
same as ``filebay fsck --repair``."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from filebay.audit.recorder import apply_retention
from filebay.errors import FilebayError
from filebay.observability.metrics import SWEPT, TUS_SESSIONS_OPEN
from filebay.runtime import Runtime
from filebay.upkeep.scanner import SWEEP, SWEEP_ORPHANS, Policy, Sources, scan
from filebay.upkeep.trash import purge_expired

log = logging.getLogger("filebay.sweeper")

#: Finding kinds as the sweeper counts them (``removed``, the labels of ``filebay_swept_total``).
LABELS = {
    "expired_upload": "tus_upload",
    "expired_share": "share",
    "deleted_owner_file": "deleted_owner_file",
    "orphan_blob": "orphan_blob",  # moved into the quarantine
    "quarantine_expired": "quarantine_expired",  # deleted after the quarantine
    "quarantine_restored": "quarantine_restored",  # named by a record again, moved back
    "stale_temp": "stale_temp",
}
#: Expired upload sessions removed in one pass.
UPLOAD_BATCH = 100


async def sweep_once(runtime: Runtime, *, orphans: bool) -> dict[str, int]:
    """One pass; how many leftovers of each kind were removed."""
    sources = Sources(
        runtime.catalog, runtime.store, runtime.uploads, runtime.shares, runtime.directory
    )
    report = await scan(
        sources,
        SWEEP_ORPHANS if orphans else SWEEP,
        repair=True,
        policy=Policy.of(runtime.settings, batch=UPLOAD_BATCH),
    )
    TUS_SESSIONS_OPEN.set(await runtime.uploads.count_uploads())
    trashed = 0
    if runtime.trash is not None:
        now = datetime.now(UTC)
        trashed = await purge_expired(
            runtime.trash, runtime.store, runtime.settings.trash_days, now
        )
    if orphans and report.orphans_refused is not None:
        log.warning(
            "orphan sweep refused, no blob moved or deleted: %s (%d of %d blobs have no "
            "record in this catalog)",
            report.orphans_refused,
            sum(1 for f in report.findings if f.kind == "orphan_blob"),
            report.blobs,
        )
    repaired = report.repaired()
    removed = {label: repaired.get(kind, 0) for kind, label in LABELS.items()}
    removed["trash_item"] = trashed
    if runtime.audit is not None:  # retention, FILEBAY_AUDIT_DAYS (the log's only delete)
        removed["audit_event"] = await apply_retention(runtime.audit, runtime.settings.audit_days)
    for kind, count in removed.items():
        if count:
            SWEPT.labels(kind).inc(count)
    return removed


async def sweep_forever(runtime: Runtime) -> None:
    """Every ``FILEBAY_SWEEP_SECONDS``; orphan blobs every ``FILEBAY_ORPHAN_SWEEP_SECONDS``
    (listing a large store is not free)."""
    settings = runtime.settings
    last_orphans = time.monotonic()
    while True:
        await asyncio.sleep(settings.sweep_seconds)
        orphans = time.monotonic() - last_orphans >= settings.orphan_sweep_seconds
        try:
            removed = await sweep_once(runtime, orphans=orphans)
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
