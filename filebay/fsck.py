"""Consistency check of catalog and blob store: find (and optionally repair) damage."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from filebay.catalog.files import Catalog, FileRecord
from filebay.catalog.sql.deployment import SqlDeployment
from filebay.catalog.uploads import UploadSessions
from filebay.errors import BlobNotFound, NotFound
from filebay.orphans import establish_identity, scan_orphans, sql_deployment
from filebay.storage.base import BlobStore, Identified, Staging, Sweepable


@dataclass(slots=True)
class Finding:
    # missing_blob | orphan_blob | size_mismatch | sha256_mismatch | stale_temp | stale_staged
    # | expired_upload | quarantine_expired | quarantine_restored | refused (why nothing of
    # the kind was repaired: a deployment identity mismatch, the orphan guard)
    kind: str
    key: str
    detail: str
    repaired: bool = False

    @property
    def is_damage(self) -> bool:
        """Lost or corrupted data, as opposed to leftovers that can simply be removed."""
        return self.kind in ("missing_blob", "size_mismatch", "sha256_mismatch")


@dataclass(slots=True)
class Report:
    records: int = 0
    blobs: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: Orphan blobs waiting out their quarantine (restorable; not a problem).
    quarantined: int = 0

    @property
    def clean(self) -> bool:
        """Nothing left to worry about: no damage, and every leftover removed."""
        return all(f.repaired and not f.is_damage for f in self.findings)


async def _sha256(store: BlobStore, key: str) -> str:
    digest = hashlib.sha256()
    chunks: AsyncIterator[bytes] = store.read(key)
    async for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


async def _check_record(
    record: FileRecord, store: BlobStore, verify: bool, repair: bool
) -> Finding | None:
    try:
        stat = await store.stat(record.blob_key)
    except BlobNotFound:
        finding = Finding("missing_blob", record.id, f"record {record.name!r} has no blob")
        return finding
    if stat.size != record.size:
        return Finding(
            "size_mismatch", record.id, f"blob has {stat.size} bytes, record says {record.size}"
        )
    if verify:
        actual = await _sha256(store, record.blob_key)
        if actual != record.sha256:
            return Finding("sha256_mismatch", record.id, f"blob SHA-256 is {actual}")
    return None


async def run_fsck(
    catalog: Catalog,
    store: BlobStore,
    *,
    verify: bool = False,
    repair: bool = False,
    grace: timedelta = timedelta(hours=1),
    now: datetime | None = None,
    uploads: UploadSessions | None = None,
    quarantine_for: timedelta = timedelta(days=7),
    ratio: float = 0.5,
) -> Report:
    """Compare the catalog with the blob store.

    With ``repair``: records whose blob is gone are removed (the bytes are lost either way, and
    the record would only answer errors); blobs without a record older than ``grace`` are
    quarantined (and deleted once quarantined for ``quarantine_for``) by the rule of
    ``filebay.orphans``; temp files older than ``grace`` are deleted. Nothing is removed
    from the store or the catalog because of the other side when the deployment identities
    differ (and no orphan while the guard refuses). Size and SHA-256 mismatches are reported,
    never touched.
    """
    now = now or datetime.now(UTC)
    report = Report()
    deployment = sql_deployment(catalog)
    identity = None
    if deployment is not None:
        # Like the server at its start: written where missing when that is safe.
        identity = await establish_identity(deployment, store)
        # (A store that cannot keep an identity gets its records checked, nothing repaired.)
        if identity.problem and isinstance(store, Identified):
            report.findings.append(Finding("refused", "deployment", identity.problem))
    # A catalog and a store that do not belong together: a blob missing from this store may
    # well be in the right one, so its record stays.
    trusted = identity is not None and identity.ok
    async for record in catalog.iter_all():
        report.records += 1
        finding = await _check_record(record, store, verify, repair)
        if finding is None:
            continue
        if repair and trusted and finding.kind == "missing_blob":
            await catalog.delete(record.id, None)
            finding.repaired = True
        report.findings.append(finding)
    if not isinstance(store, Sweepable):
        return report
    if deployment is not None:
        await _check_orphans(
            report,
            deployment,
            store,
            repair=repair,
            grace=grace,
            quarantine_for=quarantine_for,
            ratio=ratio,
            now=now,
            identity_refused=not trusted,
        )
    async for temp in store.iter_temps():
        if now - temp.modified_at < grace:
            continue
        finding = Finding("stale_temp", temp.key, f"unfinished write of {temp.size} bytes")
        if repair:
            await store.remove_temp(temp.key)
            finding.repaired = True
        report.findings.append(finding)
    if uploads is not None and isinstance(store, Staging):
        await _check_uploads(
            report, uploads, store, repair=repair, trusted=trusted, grace=grace, now=now
        )
    return report


async def _check_orphans(
    report: Report,
    deployment: SqlDeployment,
    store: BlobStore,
    *,
    repair: bool,
    grace: timedelta,
    quarantine_for: timedelta,
    ratio: float,
    now: datetime,
    identity_refused: bool,
) -> None:
    """Orphan blobs and the quarantine, by the rule the sweeper follows (filebay.orphans)."""
    found = await scan_orphans(
        deployment,
        store,
        repair=repair,
        grace=grace,
        quarantine_for=quarantine_for,
        ratio=ratio,
        now=now,
    )
    report.blobs = found.blobs
    if found.refused is not None and not identity_refused and found.orphans:
        report.findings.append(Finding("refused", "orphans", found.refused))
    quarantined = set(found.quarantined)
    for blob in found.orphans:
        finding = Finding("orphan_blob", blob.key, f"{blob.size} bytes without a record")
        if blob.key in quarantined:
            finding.detail += f", quarantined for {_span(quarantine_for)}"
            finding.repaired = True
        report.findings.append(finding)
    for key in found.restored:
        detail = "a record names this quarantined blob again: moved back"
        report.findings.append(Finding("quarantine_restored", key, detail, repaired=True))
    for key in found.deleted:
        detail = f"quarantined more than {_span(quarantine_for)} ago: deleted"
        report.findings.append(Finding("quarantine_expired", key, detail, repaired=True))
    if found.refused is None and not repair:
        for blob in found.waiting:
            if now - blob.modified_at >= quarantine_for:
                detail = f"quarantined more than {_span(quarantine_for)} ago"
                report.findings.append(Finding("quarantine_expired", blob.key, detail))
    report.quarantined = len(found.waiting)


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600} h"
    return f"{seconds} s"


async def _check_uploads(
    report: Report,
    uploads: UploadSessions,
    store: Staging,
    *,
    repair: bool,
    trusted: bool = True,
    grace: timedelta,
    now: datetime,
) -> None:
    """Resumable uploads past their expiry, and staged bytes that no session owns (left
    alone when the catalog and the store do not belong together: ``trusted`` is false)."""
    for session in await uploads.expired_uploads(now, 10_000):
        finding = Finding("expired_upload", session.id, f"{session.offset} of {session.length}")
        if repair:
            await uploads.delete_upload(session.id, None)
            await store.delete_staged(session.id)
            finding.repaired = True
        report.findings.append(finding)
    async for staged in store.iter_staged():
        if now - staged.modified_at < grace:
            continue
        try:
            await uploads.get_upload(staged.key, None)
            continue
        except NotFound:
            pass
        finding = Finding("stale_staged", staged.key, "staged bytes without an upload session")
        if repair and trusted:
            await store.delete_staged(staged.key)
            finding.repaired = True
        report.findings.append(finding)
