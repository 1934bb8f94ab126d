"""The Identities contract (filebay.catalog.identities) on SQL, SQLite and PostgreSQL: the
only implementation (the auth side always has the database). Each rule that makes a
credential good once is checked with two callers at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from filebay.catalog.identities import PendingSignIn
from filebay.catalog.sql.identities import SqlIdentities
from filebay.errors import Conflict
from tests.contract.helpers import Subjects, SubjectsRunner


def _pending(state_hash: str, seconds: int = 600) -> PendingSignIn:
    return PendingSignIn(
        state_hash=state_hash,
        browser_hash="b" * 64,
        nonce="n",
        code_verifier="v",
        next_url="/next",
        expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
    )


def test_a_sign_in_is_taken_once(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        ids = SqlIdentities(s.sql.engine)
        await ids.save_sign_in(_pending("a" * 64))
        now = datetime.now(UTC)
        taken = await asyncio.gather(*(ids.take_sign_in("a" * 64, now) for _ in range(4)))
        winners = [t for t in taken if t is not None]
        assert len(winners) == 1 and winners[0].next_url == "/next"
        assert await ids.take_sign_in("a" * 64, now) is None
        # Expired: gone, and not handed out.
        await ids.save_sign_in(_pending("c" * 64, seconds=1))
        assert await ids.take_sign_in("c" * 64, now + timedelta(seconds=5)) is None

    run_sql(scenario)


def test_users_are_linked_by_issuer_and_subject_only(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        ids = SqlIdentities(s.sql.engine)
        await s.directory.create_user("local", "hash", "user", None)
        await s.directory.create_user("root", "hash", "admin", None)
        assert await ids.linked_user("https://op", "sub-1") is None
        alice = await ids.create_linked_user("https://op", "sub-1", "alice", "admin", "!sso")
        assert (alice.username, alice.role) == ("alice", "admin")
        assert await ids.linked_user("https://op", "sub-1") == alice
        # The same subject at another issuer is someone else.
        assert await ids.linked_user("https://other-op", "sub-1") is None
        # A name taken (in any case) is never linked to.
        with pytest.raises(Conflict):
            await ids.create_linked_user("https://op", "sub-2", "LOCAL", "user", "!sso")
        assert await ids.linked_user("https://op", "sub-2") is None
        # Deleting the user ends the link: a later "alice" does not inherit it.
        await s.directory.delete_user("alice")
        await s.directory.create_user("alice", "hash", "user", None)
        assert await ids.linked_user("https://op", "sub-1") is None

    run_sql(scenario)


def test_a_totp_step_and_a_recovery_code_are_good_once(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        ids = SqlIdentities(s.sql.engine)
        await s.directory.create_user("bob", "hash", "user", None)
        await ids.begin_totp("bob", "SECRET1")
        await ids.begin_totp("bob", "SECRET2")  # an unconfirmed one is replaced
        state = await ids.totp("bob")
        assert state is not None and state.secret == "SECRET2" and not state.confirmed
        assert not await ids.spend_totp_step("bob", 100)  # not on yet
        assert await ids.confirm_totp("bob", 100, ["h1", "h2"])
        assert not await ids.confirm_totp("bob", 101, ["h3"])  # on already
        with pytest.raises(Conflict):
            await ids.begin_totp("bob", "SECRET3")
        assert not await ids.spend_totp_step("bob", 100)  # the confirming code's step
        spent = await asyncio.gather(*(ids.spend_totp_step("bob", 101) for _ in range(4)))
        assert spent.count(True) == 1
        assert not await ids.spend_totp_step("bob", 99)  # an older step after a newer one
        codes = await ids.recovery_codes("bob")
        assert sorted(c.code_hash for c in codes) == ["h1", "h2"]
        used = await asyncio.gather(*(ids.spend_recovery_code(codes[0].id) for _ in range(3)))
        assert used.count(True) == 1
        assert [c.id for c in await ids.recovery_codes("bob")] == [codes[1].id]
        assert await ids.remove_second_factors("bob")
        assert await ids.totp("bob") is None and await ids.recovery_codes("bob") == []
        assert not await ids.remove_second_factors("bob")

    run_sql(scenario)


def test_a_challenge_ends_once(run_sql: SubjectsRunner) -> None:
    async def scenario(s: Subjects) -> None:
        ids = SqlIdentities(s.sql.engine)
        now = datetime.now(UTC)
        await ids.create_challenge("h" * 64, "bob", True, now + timedelta(seconds=300))
        found = await ids.challenge("h" * 64, now)
        assert found is not None and found.username == "bob" and found.browser
        assert await ids.challenge("h" * 64, now + timedelta(seconds=301)) is None
        ended = await asyncio.gather(*(ids.end_challenge("h" * 64) for _ in range(3)))
        assert ended.count(True) == 1
        assert await ids.challenge("h" * 64, now) is None

    run_sql(scenario)
