"""Consistency check of catalog and blob store: find (and optionally repair) damage."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from filebay.catalog.base import Catalog, FileRecord
from filebay.catalog.uploads import UploadSessions
from filebay.errors import BlobNotFound, NotFound
from filebay.storage.base import BlobStore, Staging, Sweepable


@dataclass(slots=True)
class Finding:
    kind: str  # missing_blob | orphan_blob | size_mismatch | sha256_mismatch | stale_temp
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
) -> Report:
    """Compare the catalog with the blob store.

    With ``repair``: records whose blob is gone are removed (the bytes are lost either way, and
    the record would only answer errors); blobs without a record and temp files older than
    ``grace`` are deleted. Size and SHA-256 mismatches are reported, never touched.
    """
    now = now or datetime.now(UTC)
    report = Report()
    referenced: set[str] = set()
    async for record in catalog.iter_all():
        report.records += 1
        referenced.add(record.blob_key)
        finding = await _check_record(record, store, verify, repair)
        if finding is None:
            continue
        if repair and finding.kind == "missing_blob":
            await catalog.delete(record.id, None)
            finding.repaired = True
        report.findings.append(finding)
    if not isinstance(store, Sweepable):
        return report
    async for blob in store.iter_blobs():
        report.blobs += 1
        # Young orphans may be uploads whose record is being written right now.
        if blob.key in referenced or now - blob.modified_at < grace:
            continue
        finding = Finding("orphan_blob", blob.key, f"{blob.size} bytes without a record")
        if repair:
            await store.delete(blob.key)
            finding.repaired = True
        report.findings.append(finding)
    async for temp in store.iter_temps():
        if now - temp.modified_at < grace:
            continue
        finding = Finding("stale_temp", temp.key, f"unfinished write of {temp.size} bytes")
        if repair:
            await store.remove_temp(temp.key)
            finding.repaired = True
        report.findings.append(finding)
    if uploads is not None and isinstance(store, Staging):
        await _check_uploads(report, uploads, store, repair=repair, grace=grace, now=now)
    return report


async def _check_uploads(
    report: Report,
    uploads: UploadSessions,
    store: Staging,
    *,
    repair: bool,
    grace: timedelta,
    now: datetime,
) -> None:
    """Resumable uploads past their expiry, and staged bytes that no session owns."""
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
        if repair:
            await store.delete_staged(staged.key)
            finding.repaired = True
        report.findings.append(finding)
