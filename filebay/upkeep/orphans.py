"""Orphan blobs, decided once for fsck and the sweeper: which blobs have no record, whether it
is safe to sweep them at all, and the quarantine they wait in before they are deleted.

- Nothing is swept unless the catalog and the store carry the same deployment identity
  (``filebay.upkeep.identity``).
- **The guard**: nothing is swept either while the catalog is empty and the store is not, or
  while it holds fewer records than ``FILEBAY_ORPHAN_GUARD_RATIO`` of the store's blobs (a
  few orphans, up to ``GUARD_FLOOR``, are swept whatever the ratio).
- **The quarantine**: an orphan is moved aside (``quarantine/``) and deleted only when it
  is still an orphan ``FILEBAY_ORPHAN_QUARANTINE_SECONDS`` later. A quarantined blob that a
  record names again (a restored catalog) is moved back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from filebay.catalog.sql.deployment import SqlDeployment
from filebay.storage.base import BlobStat, BlobStore, Quarantining, Sweepable
from filebay.storage.keys import base_key
from filebay.upkeep.identity import read_identity

#: Up to this many orphans are swept whatever FILEBAY_ORPHAN_GUARD_RATIO says (a small
#: deployment's crash leftovers), provided the catalog is not empty.
GUARD_FLOOR = 10


def guard_problem(records: int, blobs: int, ratio: float) -> str | None:
    """Why sweeping orphans is refused for a catalog of ``records`` and a store of ``blobs``."""
    if records == 0 and blobs > 0:
        return f"the catalog is empty but the blob store holds {blobs} blobs"
    if records < ratio * blobs and blobs - records > GUARD_FLOOR:
        return (
            f"the catalog has {records} records for {blobs} blobs in the store "
            f"(fewer than FILEBAY_ORPHAN_GUARD_RATIO={ratio:g} of them)"
        )
    return None


@dataclass(slots=True)
class OrphanPass:
    """What one pass over the blob store found and did."""

    blobs: int = 0
    records: int = 0
    #: Why nothing was touched (identity mismatch, guard); ``None`` when the pass could act.
    refused: str | None = None
    #: Blobs older than the grace that no record names (moved aside when repairing).
    orphans: list[BlobStat] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    #: Quarantined blobs that a record names again, moved back.
    restored: list[str] = field(default_factory=list)
    #: Quarantined past the quarantine period and deleted.
    deleted: list[str] = field(default_factory=list)
    #: Quarantined blobs still waiting out their quarantine.
    waiting: list[BlobStat] = field(default_factory=list)


async def scan_orphans(
    deployment: SqlDeployment,
    store: BlobStore,
    *,
    repair: bool,
    grace: timedelta,
    quarantine_for: timedelta,
    ratio: float,
    now: datetime | None = None,
) -> OrphanPass:
    """The one orphan rule. Lists the store, checks the identity and the guard, finds blobs
    older than ``grace`` that no record names; with ``repair`` (and only when identity and
    guard allow) quarantines them, moves back quarantined blobs named again and deletes
    those quarantined for ``quarantine_for``."""
    now = now or datetime.now(UTC)
    result = OrphanPass()
    if not isinstance(store, Sweepable):
        return result
    live = [blob async for blob in store.iter_blobs()]
    held = (
        [blob async for blob in store.iter_quarantined()] if isinstance(store, Quarantining) else []
    )
    result.blobs = len(live)
    result.records = await deployment.count_files()
    identity = await read_identity(deployment, store)
    # The guard weighs files against records: derived blobs (thumbnails) are not files.
    files = sum(1 for blob in live if base_key(blob.key) == blob.key)
    result.refused = identity.problem or guard_problem(result.records, files, ratio)
    # Young blobs may be uploads whose record is being written right now.
    candidates = [blob for blob in live if now - blob.modified_at >= grace]
    named = await _named(deployment, [b.key for b in candidates] + [b.key for b in held])
    result.orphans = [blob for blob in candidates if blob.key not in named]
    if result.refused is not None:
        result.waiting = held
        return result
    for blob in held:
        if blob.key in named:
            if repair:
                await store.restore_quarantined(blob.key)
                result.restored.append(blob.key)
        elif now - blob.modified_at >= quarantine_for:
            if repair:
                await store.delete_quarantined(blob.key)
                result.deleted.append(blob.key)
            else:
                result.waiting.append(blob)
        else:
            result.waiting.append(blob)
    if repair and isinstance(store, Quarantining):
        for blob in result.orphans:
            await store.quarantine(blob.key)
            result.quarantined.append(blob.key)
    return result


async def restore_named(deployment: SqlDeployment, store: BlobStore) -> list[str]:
    """Move back every quarantined blob that a record names again (a restored catalog), when
    the identities match. Cheap (lists the quarantine only): the sweeper runs it every pass."""
    if not isinstance(store, Quarantining):
        return []
    held = [blob.key async for blob in store.iter_quarantined()]
    if not held or not (await read_identity(deployment, store)).ok:
        return []
    restored = []
    for key in sorted(await _named(deployment, held)):
        await store.restore_quarantined(key)
        restored.append(key)
    return restored


async def _named(deployment: SqlDeployment, keys: Sequence[str]) -> set[str]:
    """The keys among ``keys`` whose file has a record: a derived blob (``<key>.<tag>``, see
    ``filebay.storage.keys``) lives exactly as long as its file."""
    files = await deployment.referenced(sorted({base_key(key) for key in keys}))
    return {key for key in keys if base_key(key) in files}


async def restore_all(store: BlobStore) -> list[str]:
    """Move every quarantined blob back (``filebay fsck --restore-quarantine``): whatever the
    catalog says, nothing waiting in the quarantine is deleted. Blobs still without a record
    are quarantined again by a later sweep, with their quarantine starting over."""
    if not isinstance(store, Quarantining):
        return []
    keys = [blob.key async for blob in store.iter_quarantined()]
    for key in keys:
        await store.restore_quarantined(key)
    return keys
