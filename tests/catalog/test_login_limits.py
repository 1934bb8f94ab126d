"""Failed-login counters, on SQL and through the metadata service (split shape)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from filebay.catalog.remote.client import INTERNAL, HttpCatalog
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.users import SqlDirectory
from filebay.catalog.users import LoginLimiter
from tests.catalog.helpers import MetadataServer

WINDOW = 900


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


def test_counters_on_sql(tmp_path: Path) -> None:
    async def scenario() -> None:
        catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
        try:
            await _exercise(SqlDirectory(catalog.engine))
            await _parallel(SqlDirectory(catalog.engine))
        finally:
            await catalog.close()

    asyncio.run(scenario())


@pytest.mark.postgres
def test_counters_on_postgres(catalog_pg_url: str) -> None:
    async def scenario() -> None:
        catalog = await SqlCatalog.open(catalog_pg_url)
        try:
            await _exercise(SqlDirectory(catalog.engine))
            await _parallel(SqlDirectory(catalog.engine))
        finally:
            await catalog.close()

    asyncio.run(scenario())


def test_counters_through_the_metadata_service(metadata_server: MetadataServer) -> None:
    async def scenario() -> None:
        client = HttpCatalog(metadata_server.url, metadata_server.token)
        try:
            await _exercise(client)
            await _parallel(client)
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("body_of", [lambda k: {"key": k}, lambda k: {"keys": [k]}])
def test_clear_takes_the_one_key_of_an_earlier_release(
    metadata_server: MetadataServer, body_of: Callable[[str], dict[str, object]]
) -> None:
    # A rolling update: an upload or download service of the last release still sends "key".
    key = f"share:{secrets.token_hex(4)}"
    base = metadata_server.url.rstrip("/") + INTERNAL
    headers = {"Authorization": f"Bearer {metadata_server.token}"}
    check = {"keys": [key], "limits": [1], "window": WINDOW}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        assert http.post("/limits/fail", json={"keys": [key], "window": WINDOW}).status_code == 204
        assert http.post("/limits/check", json=check).json()["retry_after"] > 0
        assert http.post("/limits/clear", json=body_of(key)).status_code == 204
        assert http.post("/limits/check", json=check).json()["retry_after"] == 0
