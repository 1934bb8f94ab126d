"""The one scan of the catalog and the blob store: everything damaged or left over is a
``Finding``, and with ``repair`` the leftovers are removed.

``filebay fsck`` runs ``FSCK`` once, reporting or repairing; the sweeper runs ``SWEEP`` (and
``SWEEP_ORPHANS``, less often) in repair mode on a timer (``filebay.upkeep.sweeper``). Both
follow the same rules: nothing is removed because of the other side when the catalog and the
store do not belong together (``filebay.upkeep.identity``), orphan blobs go by the guard and
the quarantine (``filebay.upkeep.orphans``), and leftovers younger than the grace period may
still be in flight and are left alone. Size and SHA-256 mismatches are reported, never touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Flag, auto

from filebay.catalog.files import Catalog, FileRecord, ListQuery
from filebay.catalog.shares import Shares
from filebay.catalog.sql.deployment import SqlDeployment
from filebay.catalog.uploads import UploadSessions
from filebay.catalog.users import Directory
from filebay.config import Settings
from filebay.errors import BlobNotFound, NotFound
from filebay.previews.thumbnails import remove_thumbnails
from filebay.storage.base import BlobStore, Identified, Staging, Sweepable
from filebay.upkeep.findings import Finding, Report
from filebay.upkeep.identity import establish_identity, sql_deployment
from filebay.upkeep.orphans import restore_named, scan_orphans

#: Share rows stay a day past expiry so their links answer 404 like every other dead link,
#: then they go.
SHARE_RETENTION = timedelta(days=1)


class Check(Flag):
    """What a scan looks at (and, repairing, removes)."""

    #: Records whose blob is missing (``missing_blob``) or of another size (``size_mismatch``).
    RECORDS = auto()
    #: With RECORDS: read every blob and compare its SHA-256 (``sha256_mismatch``).
    VERIFY = auto()
    #: Quarantined blobs that a record names again are moved back (``quarantine_restored``):
    #: lists the quarantine only.
    RESTORE = auto()
    #: Blobs without a record (``orphan_blob``) and the quarantine (``quarantine_expired``,
    #: ``quarantine_restored``): lists the whole store.
    ORPHANS = auto()
    #: Unfinished writes: temp files, incomplete S3 multipart uploads (``stale_temp``).
    TEMPS = auto()
    #: Resumable uploads past their expiry (``expired_upload``).
    UPLOADS = auto()
    #: Staged bytes that no upload session owns (``stale_staged``).
    STAGED = auto()
    #: Share rows past their expiry and ``SHARE_RETENTION`` (``expired_share``; counted only
    #: as they are removed, so only when repairing).
    SHARES = auto()
    #: Files whose owner was deleted (``deleted_owner_file``): uploads that landed after the
    #: account was deleted, while a service still trusted its token.
    OWNERLESS = auto()


#: ``filebay fsck`` (``| Check.VERIFY`` with ``--verify``).
FSCK = Check.RECORDS | Check.ORPHANS | Check.TEMPS | Check.UPLOADS | Check.STAGED
#: The sweeper, every ``FILEBAY_SWEEP_SECONDS``.
SWEEP = Check.UPLOADS | Check.SHARES | Check.OWNERLESS | Check.RESTORE
#: The sweeper, every ``FILEBAY_ORPHAN_SWEEP_SECONDS`` (listing a large store is not free).
SWEEP_ORPHANS = SWEEP | Check.ORPHANS | Check.TEMPS


@dataclass(frozen=True, slots=True)
class Policy:
    """How old a leftover must be before it goes, and how long orphans wait."""

    #: Younger orphans, temp files and staged bytes may be writes in flight.
    grace: timedelta = timedelta(hours=1)
    quarantine_for: timedelta = timedelta(days=7)
    #: FILEBAY_ORPHAN_GUARD_RATIO (``filebay.upkeep.orphans.guard_problem``).
    ratio: float = 0.5
    #: Expired upload sessions looked at in one scan.
    batch: int = 10_000
    #: Temp files younger than this are left alone (``None``: ``grace``). Zero when no server
    #: holds the data dir (``filebay.upkeep.serverlock``): every temp is a crash's leftover.
    temp_grace: timedelta | None = None

    @classmethod
    def of(
        cls, settings: Settings, *, grace_seconds: int | None = None, batch: int = 10_000
    ) -> Policy:
        """The policy of ``settings`` (``grace_seconds`` overrides FILEBAY_TEMP_GRACE_SECONDS)."""
        grace = settings.temp_grace_seconds if grace_seconds is None else grace_seconds
        return cls(
            grace=timedelta(seconds=grace),
            quarantine_for=timedelta(seconds=settings.orphan_quarantine_seconds),
            ratio=settings.orphan_guard_ratio,
            batch=batch,
        )


@dataclass(frozen=True, slots=True)
class Sources:
    """What a scan reads: the catalog and the blob store, and the other records there are."""

    catalog: Catalog
    store: BlobStore
    #: Resumable upload sessions (for UPLOADS and STAGED).
    uploads: UploadSessions | None = None
    #: Share links (for SHARES).
    shares: Shares | None = None
    #: The user accounts (for OWNERLESS).
    directory: Directory | None = None


async def scan(
    sources: Sources,
    checks: Check,
    *,
    repair: bool,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> Report:
    """Compare the catalog with the blob store (and the upload sessions, share rows and user
    accounts, where given) by ``checks``.

    With ``repair``: records whose blob is gone are removed (the bytes are lost either way,
    and the record would only answer errors); orphan blobs are quarantined, and deleted once
    quarantined for ``policy.quarantine_for``; expired uploads and shares, unfinished writes,
    staged bytes without a session and the files of deleted users are removed. Nothing is
    removed from the store or the catalog because of the other side when the deployment
    identities differ (and no orphan while the guard refuses).
    """
    catalog, store, uploads = sources.catalog, sources.store, sources.uploads
    run = _Scan(catalog, store, policy or Policy(), repair, now or datetime.now(UTC))
    await run.identity()
    if Check.RECORDS in checks:
        await run.records(verify=Check.VERIFY in checks)
    if Check.RESTORE in checks:
        await run.restore()
    if Check.ORPHANS in checks:
        await run.orphans()
    if Check.TEMPS in checks:
        await run.temps()
    if uploads is not None and isinstance(store, Staging):
        if Check.UPLOADS in checks:
            await run.expired_uploads(uploads, store)
        if Check.STAGED in checks:
            await run.stale_staged(uploads, store)
    if sources.shares is not None and Check.SHARES in checks:
        await run.expired_shares(sources.shares)
    if sources.directory is not None and Check.OWNERLESS in checks:
        await run.ownerless(sources.directory)
    return run.report


class _Scan:
    """One scan under way: what it works on, and what it found so far."""

    def __init__(
        self, catalog: Catalog, store: BlobStore, policy: Policy, repair: bool, now: datetime
    ) -> None:
        self.catalog, self.store, self.policy = catalog, store, policy
        self.repair, self.now = repair, now
        self.report = Report()
        self.deployment: SqlDeployment | None = sql_deployment(catalog)
        #: The catalog and the store belong together: a blob missing from this store is not
        #: in some other one, and the store's leftovers are this catalog's.
        self.trusted = False

    def found(self, finding: Finding) -> None:
        self.report.findings.append(finding)

    async def identity(self) -> None:
        if self.deployment is None:
            return
        # Like the server at its start: written where missing when that is safe.
        identity = await establish_identity(self.deployment, self.store)
        # (A store that cannot keep an identity gets its records checked, nothing repaired.)
        if identity.problem and isinstance(self.store, Identified):
            self.found(Finding("refused", "deployment", identity.problem))
        self.trusted = identity.ok

    async def records(self, *, verify: bool) -> None:
        async for record in self.catalog.iter_all():
            self.report.records += 1
            finding = await self._check_record(record, verify)
            if finding is None:
                continue
            if self.repair and self.trusted and finding.kind == "missing_blob":
                await self.catalog.delete(record.id, None)
                finding.repaired = True
            self.found(finding)

    async def _check_record(self, record: FileRecord, verify: bool) -> Finding | None:
        try:
            stat = await self.store.stat(record.blob_key)
        except BlobNotFound:
            return Finding("missing_blob", record.id, f"record {record.name!r} has no blob")
        if stat.size != record.size:
            detail = f"blob has {stat.size} bytes, record says {record.size}"
            return Finding("size_mismatch", record.id, detail)
        if verify:
            digest = hashlib.sha256()
            async for chunk in self.store.read(record.blob_key):
                digest.update(chunk)
            actual = digest.hexdigest()
            if actual != record.sha256:
                return Finding("sha256_mismatch", record.id, f"blob SHA-256 is {actual}")
        return None

    async def restore(self) -> None:
        if not self.repair or self.deployment is None:
            return
        # A restored catalog names quarantined blobs again: back they go, without waiting
        # for the next orphan pass.
        for key in await restore_named(self.deployment, self.store):
            self.found(Finding("quarantine_restored", key, _RESTORED, repaired=True))

    async def orphans(self) -> None:
        """Orphan blobs and the quarantine, by the rule of ``filebay.upkeep.orphans``."""
        if self.deployment is None:
            return
        span = _span(self.policy.quarantine_for)
        found = await scan_orphans(
            self.deployment,
            self.store,
            repair=self.repair,
            grace=self.policy.grace,
            quarantine_for=self.policy.quarantine_for,
            ratio=self.policy.ratio,
            now=self.now,
        )
        self.report.blobs = found.blobs
        self.report.orphans_refused = found.refused
        # (An identity mismatch has its own finding already.)
        if found.refused is not None and self.trusted and found.orphans:
            self.found(Finding("refused", "orphans", found.refused))
        quarantined = set(found.quarantined)
        for blob in found.orphans:
            finding = Finding("orphan_blob", blob.key, f"{blob.size} bytes without a record")
            if blob.key in quarantined:
                finding.detail += f", quarantined for {span}"
                finding.repaired = True
            self.found(finding)
        for key in found.restored:
            self.found(Finding("quarantine_restored", key, _RESTORED, repaired=True))
        for key in found.deleted:
            detail = f"quarantined more than {span} ago: deleted"
            self.found(Finding("quarantine_expired", key, detail, repaired=True))
        if found.refused is None and not self.repair:
            for blob in found.waiting:
                if self.now - blob.modified_at >= self.policy.quarantine_for:
                    detail = f"quarantined more than {span} ago"
                    self.found(Finding("quarantine_expired", blob.key, detail))
        self.report.quarantined = len(found.waiting)

    async def temps(self) -> None:
        if not isinstance(self.store, Sweepable):
            return
        async for temp in self.store.iter_temps():
            grace = self.policy.grace if self.policy.temp_grace is None else self.policy.temp_grace
            if self.now - temp.modified_at < grace:
                continue
            finding = Finding("stale_temp", temp.key, f"unfinished write of {temp.size} bytes")
            if self.repair:
                try:
                    await self.store.remove_temp(temp.key)
                except BlobNotFound:  # finished, or removed by another sweeper meanwhile
                    continue
                finding.repaired = True
            self.found(finding)

    async def expired_uploads(self, uploads: UploadSessions, store: Staging) -> None:
        for session in await uploads.expired_uploads(self.now, self.policy.batch):
            detail = f"{session.offset} of {session.length}"
            finding = Finding("expired_upload", session.id, detail)
            if self.repair:
                await uploads.delete_upload(session.id, None)
                await store.delete_staged(session.id)
                finding.repaired = True
            self.found(finding)

    async def stale_staged(self, uploads: UploadSessions, store: Staging) -> None:
        """Staged bytes that no session owns (left alone when the catalog and the store do
        not belong together)."""
        async for staged in store.iter_staged():
            if self.now - staged.modified_at < self.policy.grace:
                continue
            try:
                await uploads.get_upload(staged.key, None)
                continue
            except NotFound:
                pass
            finding = Finding("stale_staged", staged.key, "staged bytes without an upload session")
            if self.repair and self.trusted:
                await store.delete_staged(staged.key)
                finding.repaired = True
            self.found(finding)

    async def expired_shares(self, shares: Shares) -> None:
        if not self.repair:
            return
        before = self.now - SHARE_RETENTION
        count = await shares.delete_expired(before)
        if count:
            detail = f"{count} share links expired before {before:%Y-%m-%d %H:%M}"
            self.found(Finding("expired_share", "shares", detail, repaired=True, count=count))

    async def ownerless(self, directory: Directory) -> None:
        known = {user.username for user in await directory.list_users()}
        for owner in await self.catalog.owners():
            if owner in known:
                continue
            cursor: str | None = None
            while True:
                query = ListQuery(limit=500, cursor=cursor, include_trash=True)
                page = await self.catalog.list(owner, query)
                for record in page.items:
                    await self._ownerless(record, owner)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor

    async def _ownerless(self, record: FileRecord, owner: str) -> None:
        finding = Finding("deleted_owner_file", record.id, f"{record.name!r} of {owner!r}")
        if self.repair:
            try:
                await self.catalog.delete(record.id, owner)
            except NotFound:  # deleted by another sweeper meanwhile
                return
            await self.store.delete(record.blob_key)
            await remove_thumbnails(self.store, record.blob_key)
            finding.repaired = True
        self.found(finding)


_RESTORED = "a record names this quarantined blob again: moved back"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 and seconds:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600} h"
    return f"{seconds} s"
