"""Orphan blobs, decided once for fsck and the sweeper: which blobs have no record, whether it
is safe to sweep them at all, and the quarantine they wait in before they are deleted.

"A blob without a record is garbage" holds only when the catalog is the right one and whole.
A wrong ``FILEBAY_DATABASE_URL``, a failed restore or two deployments sharing a bucket, prefix
or data dir would make every blob an orphan. So:

- **A deployment identity** (a random id) is kept in the catalog (the ``deployment`` table)
  and in the blob store (``<data dir>/.filebay-deployment``, ``<prefix>.filebay/deployment``
  on S3), written once at first start. Nothing is swept unless the two are equal.
- **The guard**: nothing is swept either while the catalog is empty and the store is not, or
  while it holds fewer records than ``FILEBAY_ORPHAN_GUARD_RATIO`` of the store's blobs (a
  few orphans, up to ``GUARD_FLOOR``, are swept whatever the ratio).
- **The quarantine**: an orphan is moved aside (``quarantine/``) and deleted only when it
  is still an orphan ``FILEBAY_ORPHAN_QUARANTINE_SECONDS`` later. A quarantined blob that a
  record names again (a restored catalog) is moved back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from filebay.catalog.files import Catalog
from filebay.catalog.sql.deployment import SqlDeployment, head_revision
from filebay.catalog.sql.files import SqlCatalog
from filebay.errors import FilebayError
from filebay.ids import new_id
from filebay.storage.base import BlobStat, BlobStore, Identified, Quarantining, Sweepable

log = logging.getLogger("filebay.orphans")

#: Up to this many orphans are swept whatever FILEBAY_ORPHAN_GUARD_RATIO says (a small
#: deployment's crash leftovers), provided the catalog is not empty.
GUARD_FLOOR = 10


def sql_deployment(catalog: Catalog) -> SqlDeployment | None:
    """The deployment facts of ``catalog`` when it is the SQL catalog (the processes that
    own the database: all-in-one, auth, metadata, ``filebay fsck``)."""
    return SqlDeployment(catalog.engine) if isinstance(catalog, SqlCatalog) else None


@dataclass(frozen=True, slots=True)
class Identity:
    """The deployment identity as the catalog and the blob store each have it."""

    catalog: str | None
    store: str | None
    #: Why the missing side(s) were not written (``establish_identity``).
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.catalog is not None and self.catalog == self.store

    @property
    def problem(self) -> str | None:
        """Why the catalog and the store cannot be trusted together; ``None`` when they can."""
        if self.ok:
            return None
        if self.catalog is not None and self.store is not None:
            why = (
                f"the catalog belongs to deployment {self.catalog}, "
                f"the blob store to deployment {self.store}"
            )
        elif self.store is not None:
            why = (
                f"the blob store belongs to deployment {self.store} but the catalog has no "
                "deployment identity (an empty or different database?)"
            )
        elif self.catalog is not None:
            why = (
                f"the catalog belongs to deployment {self.catalog} but the blob store has no "
                "deployment identity (an empty or different data dir, bucket or prefix?)"
            )
        else:
            why = "neither the catalog nor the blob store has a deployment identity"
        return f"deployment identity mismatch: {why}" + (f"; {self.note}" if self.note else "")


async def read_identity(deployment: SqlDeployment, store: BlobStore) -> Identity:
    """Both sides' identity, reading only."""
    stored = await store.read_deployment() if isinstance(store, Identified) else None
    return Identity(await deployment.identity(), stored)


async def _has_blobs(store: BlobStore) -> bool:
    if not isinstance(store, Sweepable):
        return False
    async for _blob in store.iter_blobs():
        return True
    if isinstance(store, Quarantining):
        async for _blob in store.iter_quarantined():
            return True
    return False


async def establish_identity(deployment: SqlDeployment, store: BlobStore) -> Identity:
    """Write the identity where it is missing, when that is safe; both sides' identity.

    A side without an identity gets the other side's (or, when neither has one, a new one)
    only when the catalog and the store are both empty (a first start) or both hold
    something (an upgrade from a release without identities, or a start interrupted
    between the two writes). When exactly one of them is empty, one of them is not this
    deployment's: nothing is written, and the mismatch stands until an operator looks.
    The catalog is written first; its primary key decides between processes starting at once.
    """
    found = await read_identity(deployment, store)
    if found.catalog is not None and found.store is not None:
        return found
    if not isinstance(store, Identified):
        return Identity(found.catalog, None, "this blob store cannot keep an identity")
    records = await deployment.count_files()
    store_empty = not await _has_blobs(store)
    if (records == 0) != store_empty:
        if records:
            note = f"not adopted: the catalog has {records} records but the blob store is empty"
        else:
            note = "not adopted: the catalog is empty but the blob store holds blobs"
        return Identity(found.catalog, found.store, note)
    value = found.catalog or found.store or new_id()
    catalog = found.catalog or await deployment.claim_identity(value)
    stored = found.store or await store.write_deployment(catalog)
    identity = Identity(catalog, stored)
    if identity.ok:
        log.info("deployment identity %s", catalog)
    return identity


async def readiness(deployment: SqlDeployment, store: BlobStore | None) -> dict[str, str]:
    """``/readyz``'s checks of the schema and the deployment identity: "ok" or why not."""
    checks: dict[str, str] = {}
    revision, head = await deployment.schema_revision(), head_revision()
    if revision == head:
        checks["schema"] = "ok"
    else:
        checks["schema"] = f"the schema is at revision {revision or 'none'}, this code needs {head}"
    if store is not None:
        identity = await read_identity(deployment, store)
        checks["deployment"] = identity.problem or "ok"
    return checks


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
    result.refused = identity.problem or guard_problem(result.records, len(live), ratio)
    # Young blobs may be uploads whose record is being written right now.
    candidates = [blob for blob in live if now - blob.modified_at >= grace]
    named = await deployment.referenced([b.key for b in candidates] + [b.key for b in held])
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
    for key in sorted(await deployment.referenced(held)):
        await store.restore_quarantined(key)
        restored.append(key)
    return restored


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


async def establish_on_start(catalog: Catalog, store: BlobStore | None) -> None:
    """At start: establish the identity, and say in the log when it does not match (the
    service still starts: ``/readyz`` answers 503 and no orphan is swept)."""
    deployment = sql_deployment(catalog)
    if deployment is None or store is None:
        return
    try:
        identity = await establish_identity(deployment, store)
    except (FilebayError, OSError) as exc:  # retried by the sweeper
        log.warning("deployment identity not checked: %s", exc)
        return
    if not identity.ok:
        log.warning("%s: orphan blobs will not be swept, /readyz answers 503", identity.problem)
