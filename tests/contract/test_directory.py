"""The Directory contract (filebay.catalog.users), run against every implementation.

- ``Verifier`` (sessions and API tokens resolved to their user) and ``LoginLimiter``
  (failed-attempt counters, reserve and release): SqlDirectory on SQLite and PostgreSQL, and
  HttpCatalog talking to a real metadata service (``run_all``).
- The rest (users, sessions, API tokens: creating, listing, changing, revoking) only on SQL
  (``run_sql``): HttpCatalog does not implement it, because only the auth service and the
  all-in-one process change the directory, and they have the database.

The scene (users, sessions, tokens) is always set with SQL on the same database.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from filebay.catalog.users import LoginLimiter
from filebay.errors import Conflict, LastAdmin, NotFound
from tests.contract.helpers import Subjects, SubjectsRunner, new_file, new_upload

WINDOW = 900


def _hash() -> str:
    return secrets.token_hex(32)


# --- users (SQL only) ------------------------------------------------------------------------


def test_a_created_user_is_found_listed_and_counted(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        directory = s.directory
        assert await directory.count_users() == 0
        before = datetime.now(UTC)
        bob = await directory.create_user("bob", "hash-b", "user", 100, quota_files=3)
        assert (bob.username, bob.role, bob.quota_bytes, bob.quota_files) == ("bob", "user", 100, 3)
        assert not bob.disabled and not bob.is_admin
        assert abs((bob.created_at - before).total_seconds()) < 60
        assert await directory.get_user("bob") == bob
        ann = await directory.create_user("ann", "hash-a", "admin", None, disabled=True)
        assert ann.is_admin and ann.disabled and ann.quota_bytes is None
        assert [u.username for u in await directory.list_users()] == ["ann", "bob"]
        assert await directory.count_users() == 2
        assert await directory.password_hash("bob") == "hash-b"
        assert await directory.password_hash("nobody") is None
        with pytest.raises(NotFound):
            await directory.get_user("nobody")

    run_sql(scenario)


def test_a_taken_name_is_a_conflict_whatever_its_case(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("carol", "x", "user", None)
        for name in ("carol", "Carol", "CAROL"):
            with pytest.raises(Conflict):
                await s.directory.create_user(name, "y", "user", None)
        assert await s.directory.count_users() == 1

    run_sql(scenario)


def test_a_name_whose_deleted_accounts_files_remain_is_a_conflict(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await s.catalog.add(new_file("dave", "left.txt"))
        with pytest.raises(Conflict):
            await s.directory.create_user("dave", "x", "user", None)

    run_sql(scenario)


def test_update_changes_only_what_is_given(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        directory = s.directory
        await directory.create_user("root", "x", "admin", None)
        erin = await directory.create_user("erin", "x", "user", 100, quota_files=5)
        changed = await directory.update_user("erin", quota_bytes=None)
        assert changed.quota_bytes is None and changed.quota_files == 5
        assert changed.role == "user" and changed.updated_at >= erin.updated_at
        assert changed.sessions_valid_after == erin.sessions_valid_after
        changed = await directory.update_user("erin", role="admin", quota_files=None)
        assert changed.is_admin and changed.quota_files is None
        assert await directory.get_user("erin") == changed
        with pytest.raises(NotFound):
            await directory.update_user("nobody", role="user")

    run_sql(scenario)


@pytest.mark.parametrize("change", [{"password_hash": "new"}, {"disabled": True}])
def test_a_new_password_or_disabling_ends_sessions_and_tokens(
    run_sql: SubjectsRunner, change: dict[str, Any]
) -> None:
    async def scenario(s: Subjects) -> None:
        directory = s.directory
        await directory.create_user("root", "x", "admin", None)
        before = await directory.create_user("fay", "x", "user", None)
        session, token = _hash(), _hash()
        await directory.create_session("fay", session, datetime.now(UTC) + timedelta(hours=1))
        await directory.create_api_token("fay", "laptop", token)
        after = await directory.update_user("fay", **change)
        assert after.sessions_valid_after > before.sessions_valid_after
        assert await directory.session_user("fay", session) is None
        assert await directory.resolve_api_token(token) is None
        assert await directory.list_api_tokens("fay") == []
        if "disabled" in change:  # re-enabling brings none of them back
            await directory.update_user("fay", disabled=False)
            assert await directory.session_user("fay", session) is None
            assert await directory.resolve_api_token(token) is None

    run_sql(scenario)


def test_delete_user_takes_credentials_and_uploads_with_it(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        directory = s.directory
        await directory.create_user("root", "x", "admin", None)
        await directory.create_user("gus", "x", "user", None)
        session, token = _hash(), _hash()
        await directory.create_session("gus", session, datetime.now(UTC) + timedelta(hours=1))
        await directory.create_api_token("gus", "ci", token)
        uploads = [new_upload("gus"), new_upload("gus")]
        for upload in uploads:
            await s.uploads.create_upload(upload)
        await s.uploads.create_upload(other := new_upload("root"))
        cancelled = await directory.delete_user("gus")
        assert sorted(cancelled) == sorted(u.id for u in uploads)
        with pytest.raises(NotFound):
            await directory.get_user("gus")
        assert await directory.session_user("gus", session) is None
        assert await directory.resolve_api_token(token) is None
        assert await directory.list_api_tokens("gus") == []
        assert await s.uploads.count_uploads() == 1
        assert await s.uploads.get_upload(other.id, None) == other
        with pytest.raises(NotFound):
            await directory.delete_user("gus")
        with pytest.raises(LastAdmin):
            await directory.delete_user("root")

    run_sql(scenario)


# --- sessions and API tokens: created on SQL, resolved by every implementation ---------------


def test_a_live_session_resolves_to_its_enabled_user(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        hank = await s.directory.create_user("hank", "x", "user", 10, quota_files=2)
        session = _hash()
        await s.directory.create_session("hank", session, datetime.now(UTC) + timedelta(hours=1))
        assert await s.verifier.session_user("hank", session) == hank
        # Another user's name, an unknown hash: nobody.
        await s.directory.create_user("ivy", "x", "user", None)
        assert await s.verifier.session_user("ivy", session) is None
        assert await s.verifier.session_user("hank", _hash()) is None
        await s.directory.delete_session(session)
        assert await s.verifier.session_user("hank", session) is None

    run_all(scenario)


def test_an_expired_session_or_a_disabled_users_resolves_to_nobody(
    run_all: SubjectsRunner,
) -> None:
    async def scenario(s: Subjects) -> None:
        await s.directory.create_user("root", "x", "admin", None)
        await s.directory.create_user("jay", "x", "user", None)
        expired, live = _hash(), _hash()
        now = datetime.now(UTC)
        await s.directory.create_session("jay", expired, now - timedelta(seconds=1))
        await s.directory.create_session("jay", live, now + timedelta(hours=1))
        assert await s.verifier.session_user("jay", expired) is None
        assert await s.verifier.session_user("jay", live) is not None
        # A disabled user's session is nobody's, even before it is deleted.
        await s.directory.create_user("kim", "x", "user", None, disabled=True)
        await s.directory.create_session("kim", live2 := _hash(), now + timedelta(hours=1))
        assert await s.verifier.session_user("kim", live2) is None

    run_all(scenario)


def test_an_api_token_resolves_to_its_user_and_notes_its_use(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        lee = await s.directory.create_user("lee", "x", "user", None)
        token = _hash()
        created = await s.directory.create_api_token("lee", "backup", token)
        assert (created.username, created.name, created.last_used_at) == ("lee", "backup", None)
        assert await s.directory.list_api_tokens("lee") == [created]
        assert await s.verifier.resolve_api_token(token) == lee
        (used,) = await s.directory.list_api_tokens("lee")
        assert used.id == created.id and used.last_used_at is not None
        assert await s.verifier.resolve_api_token(_hash()) is None
        await s.directory.create_user("mo", "x", "user", None, disabled=True)
        await s.directory.create_api_token("mo", "old", off := _hash())
        assert await s.verifier.resolve_api_token(off) is None

    run_all(scenario)


def test_revoked_api_tokens_resolve_to_nobody(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        directory = s.directory
        await directory.create_user("ned", "x", "user", None)
        await directory.create_user("oli", "x", "user", None)
        one, two, three, theirs = _hash(), _hash(), _hash(), _hash()
        first = await directory.create_api_token("ned", "one", one)
        await directory.create_api_token("ned", "two", two)
        await directory.create_api_token("ned", "three", three)
        await directory.create_api_token("oli", "theirs", theirs)
        with pytest.raises(NotFound):  # only the owner's token goes
            await directory.delete_api_token(first.id, "oli")
        await directory.delete_api_token(first.id, "ned")
        with pytest.raises(NotFound):
            await directory.delete_api_token(first.id, "ned")
        assert await s.verifier.resolve_api_token(one) is None
        assert await s.verifier.resolve_api_token(two) is not None
        assert await directory.delete_api_tokens("ned") == 2
        assert await directory.delete_api_tokens("ned") == 0
        assert await s.verifier.resolve_api_token(two) is None
        assert await s.verifier.resolve_api_token(three) is None
        oli = await s.verifier.resolve_api_token(theirs)
        assert oli is not None and oli.username == "oli"

    run_all(scenario)


# --- the login limiter ------------------------------------------------------------------------


async def _exercise(limiter: LoginLimiter) -> None:
    tag = secrets.token_hex(4)
    pair, addr, user = f"pair:{tag}|a", f"addr:{tag}", f"user:{tag}"
    keys, limits = [pair, addr, user], [2, 5, 3]
    assert await limiter.reserve_login_attempt(keys, limits, WINDOW) == 0
    assert await limiter.reserve_login_attempt(keys, limits, WINDOW) == 0
    wait = await limiter.reserve_login_attempt(keys, limits, WINDOW)  # the pair is at its limit
    assert 0 < wait <= WINDOW + 1
    # A refused attempt counts nothing: the address is at 2 of 5, the user at 2 of 3.
    assert await limiter.reserve_login_attempt([addr, user], [3, 3], WINDOW) == 0
    assert await limiter.reserve_login_attempt([user], [3], WINDOW) > 0
    # A success: the pair and the user start again, the address takes that attempt back.
    await limiter.release_login_attempt([addr], [pair, user])
    assert await limiter.reserve_login_attempt([addr], [3], WINDOW) == 0  # 2 + 1
    assert await limiter.reserve_login_attempt([addr], [3], WINDOW) > 0
    assert await limiter.reserve_login_attempt([pair, user], [1, 1], WINDOW) == 0
    # An attempt never checked is taken back from every counter; never below zero.
    await limiter.release_login_attempt([pair, user], [])
    await limiter.release_login_attempt([pair, user, f"addr:{tag}-none"], [])
    assert await limiter.reserve_login_attempt([pair, user], [1, 1], WINDOW) == 0
    assert await limiter.reserve_login_attempt([pair], [1], WINDOW) > 0


async def _parallel(limiter: LoginLimiter) -> None:
    """Attempts made at once meet the limits exactly: what passes is what was counted."""
    tag = secrets.token_hex(4)
    keys, limits = [f"pair:{tag}|a", f"addr:{tag}"], [7, 50]
    waits = await asyncio.gather(
        *(limiter.reserve_login_attempt(keys, limits, WINDOW) for _ in range(40))
    )
    assert sum(1 for w in waits if w == 0) == 7, waits
    # The other counter got exactly the passing attempts: 43 more pass on the address alone.
    waits = await asyncio.gather(
        *(limiter.reserve_login_attempt(keys[1:], limits[1:], WINDOW) for _ in range(60))
    )
    assert sum(1 for w in waits if w == 0) == 43, waits


def test_reserve_and_release_count_each_attempt_once(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await _exercise(s.limiter)

    run_all(scenario)


def test_attempts_at_once_meet_the_limits_exactly(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        await _parallel(s.limiter)

    run_all(scenario)


def test_a_counter_starts_again_after_its_window(run_all: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        key = f"user:{secrets.token_hex(4)}"
        assert await s.limiter.reserve_login_attempt([key], [1], 1) == 0
        assert 0 < await s.limiter.reserve_login_attempt([key], [1], 1) <= 2
        await asyncio.sleep(1.2)
        assert await s.limiter.reserve_login_attempt([key], [1], 1) == 0

    run_all(scenario)
