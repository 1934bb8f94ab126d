"""filebay.sharing.links: making a link, finding it by token, revoking it, its password."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from filebay.auth.passwords import hash_password
from filebay.auth.secrets import secret_hash
from filebay.catalog.shares import Share
from filebay.config import Settings
from filebay.errors import NotFound, TooManyAttempts
from filebay.sharing.links import (
    MAX_TOKEN,
    PASSWORD_FAILURES,
    SHARE_GONE,
    check_password,
    create_share,
    find_link,
    link_path,
    open_link,
    revoke_share,
)
from tests.unit.sharing.fakes import NOW, FakeCatalog, FakeLimiter, FakeShares, record, share

PASSWORD = "open sesame"


def test_a_new_link_keeps_only_hashes() -> None:
    async def scenario() -> None:
        shares = FakeShares()
        before = datetime.now(UTC)
        made, token = await create_share(
            shares, "f" * 32, "alice", expires_in=60, password=PASSWORD, max_downloads=3
        )
        assert len(token) == 32  # 192 bits, URL-safe
        assert shares.by_hash == {secret_hash(token): made}
        assert made.password_hash is not None and made.password_hash.startswith("$argon2id$")
        assert PASSWORD not in made.password_hash
        assert made.expires_at is not None
        assert before + timedelta(seconds=60) <= made.expires_at
        assert made.expires_at <= datetime.now(UTC) + timedelta(seconds=60)
        assert (made.max_downloads, made.downloads, made.owner) == (3, 0, "alice")

        plain, other = await create_share(
            shares, "f" * 32, "alice", expires_in=None, password=None, max_downloads=None
        )
        assert other != token and plain.id != made.id
        assert plain.password_hash is None and plain.expires_at is None

    asyncio.run(scenario())


def test_finding_a_link() -> None:
    async def scenario() -> None:
        shares = FakeShares()
        expired = share(expires_at=NOW - timedelta(seconds=1))
        shares.put(secret_hash("tok"), expired)
        # Found whatever its state: the caller decides.
        assert await find_link(shares, "tok") == expired
        for token in ("unknown", "x" * (MAX_TOKEN + 1)):
            with pytest.raises(NotFound) as caught:
                await find_link(shares, token)
            assert caught.value.detail == SHARE_GONE
        # An over-long token is not even looked up.
        assert secret_hash("x" * (MAX_TOKEN + 1)) not in shares.lookups

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "dead",
    [
        share(expires_at=NOW),
        share(max_downloads=2, downloads=2),
        share(file_id="d" * 32),
    ],
    ids=["expired", "used up", "file deleted"],
)
def test_a_dead_link_does_not_open(dead: Share) -> None:
    async def scenario() -> None:
        shares = FakeShares()
        shares.put(secret_hash("tok"), dead)
        with pytest.raises(NotFound) as caught:
            await open_link(shares, FakeCatalog(record()), "tok", NOW)
        assert caught.value.detail == SHARE_GONE

    asyncio.run(scenario())


def test_a_live_link_opens_with_its_file() -> None:
    async def scenario() -> None:
        shares = FakeShares()
        live = share(max_downloads=2, downloads=1, expires_at=NOW + timedelta(seconds=1))
        shares.put(secret_hash("tok"), live)
        assert await open_link(shares, FakeCatalog(record()), "tok", NOW) == (live, record())

    asyncio.run(scenario())


def test_revoking_by_token_or_id() -> None:
    async def scenario() -> None:
        shares = FakeShares()
        one, two = share("a" * 32), share("b" * 32)
        shares.put(secret_hash("token-one"), one)
        shares.put(secret_hash("token-two"), two)
        await revoke_share(shares, "token-one", "alice")
        await revoke_share(shares, two.id, "alice")
        assert shares.by_hash == {}
        with pytest.raises(NotFound):
            await revoke_share(shares, "token-one", "alice")

    asyncio.run(scenario())


def test_link_path() -> None:
    assert link_path("abc") == "/s/abc"


def test_the_password_check_counts_first_and_limits_per_link() -> None:
    async def scenario() -> None:
        settings = Settings()
        locked = share(password_hash=await hash_password(PASSWORD))
        limiter = FakeLimiter()
        link, address = f"share:{locked.id}", "addr:192.0.2.1"

        async def attempt(password: str) -> bool:
            return await check_password(
                locked, password, limiter=limiter, address="192.0.2.1", settings=settings
            )

        assert not await attempt("wrong")
        assert limiter.counts == {link: 1, address: 1}
        # The right password: taken back for the address, the link's count starts again.
        assert await attempt(PASSWORD)
        assert limiter.counts == {address: 1}
        for _ in range(PASSWORD_FAILURES):
            assert not await attempt("wrong")
        # The limit holds for the right password too, and nothing more is counted.
        for password in ("wrong", PASSWORD):
            with pytest.raises(TooManyAttempts) as caught:
                await attempt(password)
            assert caught.value.retry_after == settings.login_window_seconds
        assert limiter.counts == {link: PASSWORD_FAILURES, address: PASSWORD_FAILURES + 1}

    asyncio.run(scenario())


def test_the_address_limit_applies_too() -> None:
    async def scenario() -> None:
        settings = Settings(login_max_failures_per_address=2)
        locked = share(password_hash=await hash_password(PASSWORD))
        limiter = FakeLimiter()

        async def attempt(password: str) -> bool:
            return await check_password(
                locked, password, limiter=limiter, address="192.0.2.9", settings=settings
            )

        assert not await attempt("wrong")
        assert not await attempt("wrong")
        with pytest.raises(TooManyAttempts):
            await attempt(PASSWORD)

    asyncio.run(scenario())
