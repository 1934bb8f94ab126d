"""The Shares contract (filebay.catalog.shares), run against every implementation.

- ``ShareLookup`` (find a link by its token, count a download): SqlShares on SQLite and
  PostgreSQL, and HttpCatalog talking to a real metadata service (``run_all``).
- The owner's side (create, list, revoke, delete the expired) only on SQL (``run_sql``):
  HttpCatalog does not implement it, because only the metadata service and the all-in-one
  process manage links, and they have the database.

Links are always created with SQL on the same database, for owners that exist.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from filebay.catalog.shares import Share
from filebay.errors import NotFound
from filebay.ids import new_id
from tests.contract.helpers import Subjects, SubjectsRunner


def new_share(
    owner: str,
    file_id: str | None = None,
    *,
    expires_in: timedelta | None = None,
    max_downloads: int | None = None,
    password_hash: str | None = None,
    created_at: datetime | None = None,
) -> Share:
    now = created_at or datetime.now(UTC).replace(microsecond=0)
    return Share(
        id=new_id(),
        file_id=file_id or new_id(),
        owner=owner,
        created_at=now,
        expires_at=None if expires_in is None else now + expires_in,
        password_hash=password_hash,
        max_downloads=max_downloads,
        downloads=0,
    )


async def shared(s: Subjects, share: Share) -> str:
    """Create the link with SQL; its token's hash."""
    token_hash = secrets.token_hex(32)
    await s.shares.create_share(share, token_hash)
    return token_hash


# --- finding a link and counting its downloads: every implementation --------------------------


def test_find_share_returns_the_link_whatever_its_state(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("alice", "x", "user", None)
        plain = new_share("alice")
        spent = new_share(
            "alice", expires_in=-timedelta(hours=1), max_downloads=1, password_hash="argon"
        )
        plain_hash, spent_hash = await shared(s, plain), await shared(s, spent)
        assert await s.lookup.find_share(plain_hash) == plain
        found = await s.lookup.find_share(spent_hash)
        assert found == spent  # expired: found all the same (the caller checks ``usable``)
        assert found is not None and not found.usable(datetime.now(UTC))
        assert found.expires_at is not None and found.expires_at.tzinfo is not None
        assert await s.lookup.find_share(secrets.token_hex(32)) is None

    run_all(scenario)


def test_a_disabled_or_missing_owners_link_is_not_found(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("root", "x", "admin", None)
        await s.directory.create_user("mallory", "x", "user", None)
        share = new_share("mallory")
        token_hash = await shared(s, share)
        assert await s.lookup.find_share(token_hash) == share
        await s.directory.update_user("mallory", disabled=True)
        assert await s.lookup.find_share(token_hash) is None
        await s.directory.update_user("mallory", disabled=False)  # until re-enabled
        assert await s.lookup.find_share(token_hash) == share
        await s.directory.delete_user("mallory")
        assert await s.lookup.find_share(token_hash) is None

    run_all(scenario)


def test_count_download_counts_until_used_up(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("alice", "x", "user", None)
        share = new_share("alice", max_downloads=2)
        token_hash = await shared(s, share)
        now = datetime.now(UTC)
        assert await s.lookup.count_download(share.id, now) is True
        assert await s.lookup.count_download(share.id, now) is True
        assert await s.lookup.count_download(share.id, now) is False
        found = await s.lookup.find_share(token_hash)
        assert found is not None and found.downloads == 2 and not found.usable(now)
        unlimited = new_share("alice")
        await shared(s, unlimited)
        for _ in range(3):
            assert await s.lookup.count_download(unlimited.id, now) is True
        assert await s.lookup.count_download(new_id(), now) is False

    run_all(scenario)


def test_an_expired_link_counts_no_download(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("alice", "x", "user", None)
        share = new_share("alice", expires_in=timedelta(hours=1))
        token_hash = await shared(s, share)
        assert share.expires_at is not None
        assert await s.lookup.count_download(share.id, share.expires_at - timedelta(seconds=1))
        assert not await s.lookup.count_download(share.id, share.expires_at)
        found = await s.lookup.find_share(token_hash)
        assert found is not None and found.downloads == 1

    run_all(scenario)


def test_concurrent_downloads_never_pass_the_limit(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("alice", "x", "user", None)
        share = new_share("alice", max_downloads=5)
        token_hash = await shared(s, share)
        now = datetime.now(UTC)
        counted = await asyncio.gather(*(s.lookup.count_download(share.id, now) for _ in range(20)))
        assert counted.count(True) == 5
        found = await s.lookup.find_share(token_hash)
        assert found is not None and found.downloads == 5

    run_all(scenario)


# --- the owner's side: SQL only ---------------------------------------------------------------


def test_list_shares_is_the_files_links_oldest_first_scoped_by_owner(
    run_sql: SubjectsRunner,
) -> None:
    async def scenario(s: Subjects) -> None:
        file_id = new_id()
        start = datetime.now(UTC).replace(microsecond=0)
        links = [
            new_share("alice", file_id, created_at=start + timedelta(seconds=i)) for i in (2, 0, 1)
        ]
        for link in links:
            await shared(s, link)
        await shared(s, new_share("alice"))  # another file's
        oldest_first = sorted(links, key=lambda x: x.created_at)
        assert await s.shares.list_shares(file_id, "alice") == oldest_first
        assert await s.shares.list_shares(file_id, None) == oldest_first
        assert await s.shares.list_shares(file_id, "bob") == []
        assert await s.shares.list_shares(new_id(), None) == []

    run_sql(scenario)


@pytest.mark.parametrize("by", ["token", "id"])
def test_delete_share_by_token_or_id_is_the_owners_alone(run_sql: SubjectsRunner, by: str) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("alice", "x", "user", None)
        share = new_share("alice")
        token_hash = await shared(s, share)
        key = (token_hash, "") if by == "token" else ("", share.id)
        with pytest.raises(NotFound):
            await s.shares.delete_share(*key, "bob")
        assert await s.shares.find_share(token_hash) == share
        await s.shares.delete_share(*key, "alice")
        assert await s.shares.find_share(token_hash) is None
        with pytest.raises(NotFound):
            await s.shares.delete_share(*key, None)
        other = new_share("alice")
        other_hash = await shared(s, other)
        await s.shares.delete_share(other_hash, other.id, None)  # owner None: anyone's
        assert await s.shares.list_shares(other.file_id, None) == []

    run_sql(scenario)


def test_delete_expired_removes_only_links_expired_before(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        gone = [new_share("alice", expires_in=-timedelta(hours=h)) for h in (1, 2)]
        kept = [
            new_share("alice", expires_in=timedelta(hours=1)),
            new_share("alice"),  # never expires
            new_share("alice", max_downloads=1),
        ]
        for link in [*gone, *kept]:
            await shared(s, link)
        assert await s.shares.delete_expired(now) == 2
        assert await s.shares.delete_expired(now) == 0
        for link in gone:
            assert await s.shares.list_shares(link.file_id, None) == []
        for link in kept:
            assert await s.shares.list_shares(link.file_id, None) == [link]

    run_sql(scenario)
