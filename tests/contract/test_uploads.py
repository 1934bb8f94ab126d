"""The UploadSessions contract (filebay.catalog.uploads), run against every implementation:
SqlUploads on SQLite and PostgreSQL, and HttpCatalog talking to a real metadata service.

Quotas are the owner's stored files plus the whole lengths (and the count) of their live
uploads; the files are recorded with the catalog under test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from filebay.catalog.quota import Quota
from filebay.errors import NotFound, QuotaExceeded, UploadLocked
from filebay.ids import new_id
from tests.contract.helpers import Subjects, SubjectsRunner, new_file, new_upload

LEASE = 60


def test_create_then_get_returns_the_session(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice", 1234)
        await s.uploads.create_upload(session)
        found = await s.uploads.get_upload(session.id, "alice")
        assert found == session
        assert found.created_at.tzinfo is not None and found.expires_at.tzinfo is not None
        assert await s.uploads.get_upload(session.id, None) == session
        assert await s.uploads.count_uploads() == 1

    run_all(scenario)


@pytest.mark.parametrize("upload_id", ["unknown", "malformed"])
def test_another_owners_unknown_or_malformed_upload_is_not_found(
    run_all: SubjectsRunner, upload_id: str
) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice")
        await s.uploads.create_upload(session)
        with pytest.raises(NotFound):
            await s.uploads.get_upload(session.id, "bob")
        with pytest.raises(NotFound):
            await s.uploads.lock_upload(session.id, "bob", new_id(), LEASE)
        wrong = new_id() if upload_id == "unknown" else "../" + session.id
        with pytest.raises(NotFound):
            await s.uploads.get_upload(wrong, None)
        with pytest.raises(NotFound):
            await s.uploads.lock_upload(wrong, "alice", new_id(), LEASE)

    run_all(scenario)


def test_create_within_the_quota_holds_the_whole_length(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        quota = Quota(max_bytes=100)
        await s.catalog.add(new_file("alice", "stored.bin", 30))
        await s.uploads.create_upload(new_upload("alice", 60), quota)
        # 30 stored + 60 held: a 20-byte upload or file no longer fits, a 10-byte one does.
        with pytest.raises(QuotaExceeded):
            await s.uploads.create_upload(new_upload("alice", 20), quota)
        with pytest.raises(QuotaExceeded):
            await s.catalog.add(new_file("alice", "more.bin", 20), quota)
        await s.uploads.create_upload(new_upload("alice", 10), quota)
        assert await s.uploads.count_uploads() == 2
        # Another owner's quota is theirs; no quota is no limit.
        await s.uploads.create_upload(new_upload("bob", 100), quota)
        await s.uploads.create_upload(new_upload("alice", 10**12))

    run_all(scenario)


def test_the_file_count_quota_counts_live_uploads(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        quota = Quota(max_files=2)
        await s.catalog.add(new_file("alice", "one.txt"))
        await s.uploads.create_upload(new_upload("alice"), quota)
        with pytest.raises(QuotaExceeded):
            await s.uploads.create_upload(new_upload("alice"), quota)
        assert await s.uploads.count_uploads() == 1

    run_all(scenario)


def test_concurrent_creations_cannot_squeeze_past_the_quota(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        # A quota is a user's: their row is what PostgreSQL locks while it checks.
        await s.directory.create_user("alice", "x", "user", 100)
        quota = Quota(max_bytes=100)
        sessions = [new_upload("alice", 30) for _ in range(8)]
        results = await asyncio.gather(
            *(s.uploads.create_upload(x, quota) for x in sessions), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(r, QuotaExceeded) for r in refused), refused
        assert len(results) - len(refused) == 3
        assert await s.uploads.count_uploads() == 3

    run_all(scenario)


def test_a_finishing_upload_is_not_counted_twice(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        quota = Quota(max_bytes=100)
        session = new_upload("alice", 80)
        await s.uploads.create_upload(session, quota)
        # The file the upload becomes has the upload's id: its 80 bytes are held once.
        finished = dataclasses.replace(new_file("alice", "done.bin", 80), id=session.id)
        await s.catalog.add(finished, quota)
        await s.uploads.delete_upload(session.id, "alice")
        assert await s.catalog.usage("alice") == 80

    run_all(scenario)


def test_the_lease_is_exclusive_until_unlocked(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice")
        await s.uploads.create_upload(session)
        mine, theirs = new_id(), new_id()
        assert await s.uploads.lock_upload(session.id, "alice", mine, LEASE) == session
        with pytest.raises(UploadLocked):
            await s.uploads.lock_upload(session.id, "alice", theirs, LEASE)
        await s.uploads.renew_lock(session.id, mine, LEASE)
        with pytest.raises(UploadLocked):  # renewing needs the lease
            await s.uploads.renew_lock(session.id, theirs, LEASE)
        await s.uploads.unlock_upload(session.id, theirs)  # not the holder: nothing happens
        with pytest.raises(UploadLocked):
            await s.uploads.lock_upload(session.id, "alice", theirs, LEASE)
        await s.uploads.unlock_upload(session.id, mine)
        await s.uploads.lock_upload(session.id, "alice", theirs, LEASE)

    run_all(scenario)


def test_an_expired_lease_may_be_taken_over(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice")
        await s.uploads.create_upload(session)
        first, second = new_id(), new_id()
        await s.uploads.lock_upload(session.id, "alice", first, 1)
        await asyncio.sleep(1.2)
        await s.uploads.lock_upload(session.id, "alice", second, LEASE)
        # The first holder finds out at its next write.
        with pytest.raises(UploadLocked):
            await s.uploads.advance_upload(session.id, first, 5, session.expires_at)
        with pytest.raises(UploadLocked):
            await s.uploads.renew_lock(session.id, first, LEASE)

    run_all(scenario)


def test_advance_records_progress_and_may_release_the_lease(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice", 100)
        await s.uploads.create_upload(session)
        token = new_id()
        await s.uploads.lock_upload(session.id, "alice", token, LEASE)
        later = session.expires_at + timedelta(hours=1)
        await s.uploads.advance_upload(session.id, token, 40, later)
        found = await s.uploads.get_upload(session.id, "alice")
        assert (found.offset, found.expires_at) == (40, later)
        with pytest.raises(UploadLocked):  # still held
            await s.uploads.lock_upload(session.id, "alice", new_id(), LEASE)
        await s.uploads.advance_upload(session.id, token, 70, later, release=True)
        assert (await s.uploads.get_upload(session.id, None)).offset == 70
        relocked = await s.uploads.lock_upload(session.id, "alice", new_id(), LEASE)
        assert relocked.offset == 70
        with pytest.raises(UploadLocked):  # released: the old token writes nothing
            await s.uploads.advance_upload(session.id, token, 90, later)
        assert (await s.uploads.get_upload(session.id, None)).offset == 70

    run_all(scenario)


def test_delete_is_scoped_and_absent_is_fine(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        session = new_upload("alice")
        await s.uploads.create_upload(session)
        await s.uploads.delete_upload(session.id, "bob")  # not bob's: stays
        assert await s.uploads.get_upload(session.id, None) == session
        await s.uploads.delete_upload(session.id, "alice")
        with pytest.raises(NotFound):
            await s.uploads.get_upload(session.id, None)
        await s.uploads.delete_upload(session.id, "alice")
        await s.uploads.delete_upload(new_id(), None)
        await s.uploads.delete_upload("not-an-id", None)
        other = new_upload("carol")
        await s.uploads.create_upload(other)
        await s.uploads.delete_upload(other.id, None)  # owner None: anyone's
        assert await s.uploads.count_uploads() == 0

    run_all(scenario)


def test_expired_uploads_come_oldest_first_up_to_the_limit(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        ages = [timedelta(hours=h) for h in (3, 1, 2, 5)]
        old = [new_upload("alice", expires_in=-age) for age in ages]
        live = new_upload("alice", expires_in=timedelta(hours=1))
        for session in [*old, live]:
            await s.uploads.create_upload(session)
        oldest_first = sorted(old, key=lambda x: x.expires_at)
        assert await s.uploads.expired_uploads(now, 100) == oldest_first
        assert await s.uploads.expired_uploads(now, 2) == oldest_first[:2]
        assert await s.uploads.expired_uploads(now - timedelta(days=1), 100) == []
        assert await s.uploads.count_uploads() == 5

    run_all(scenario)
