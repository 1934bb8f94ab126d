"""The deployment identity: the catalog and the blob store share one, so that a catalog and
a store that do not belong together are noticed before anything is swept.

"A blob without a record is garbage" holds only when the catalog is the right one and whole.
A wrong ``FILEBAY_DATABASE_URL``, a failed restore or two deployments sharing a bucket, prefix
or data dir would make every blob an orphan. So a random id is kept in the catalog (the
``deployment`` table) and in the blob store (``<data dir>/.filebay-deployment``,
``<prefix>.filebay/deployment`` on S3), written once at first start, and nothing is swept
unless the two are equal (``filebay.upkeep.orphans``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from filebay.catalog.files import Catalog
from filebay.catalog.sql.deployment import SqlDeployment, head_revision
from filebay.catalog.sql.files import SqlCatalog
from filebay.errors import FilebayError
from filebay.ids import new_id
from filebay.storage.base import BlobStore, Identified, Quarantining, Sweepable

log = logging.getLogger("filebay.orphans")


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
