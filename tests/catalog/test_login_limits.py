"""Failed-login counters, on SQL and through the metadata service (split shape)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from filebay.catalog.http import INTERNAL, HttpCatalog
from filebay.catalog.sql import SqlCatalog
from filebay.catalog.sql_users import SqlDirectory
from filebay.catalog.users import LoginLimiter
from tests.catalog.helpers import MetadataServer

WINDOW = 900


async def _exercise(limiter: LoginLimiter) -> None:
    tag = secrets.token_hex(4)
    pair, addr, user = f"pair:{tag}|a", f"addr:{tag}", f"user:{tag}"
    keys, limits = [pair, addr, user], [2, 5, 3]
    assert await limiter.login_retry_after(keys, limits, WINDOW) == 0
    await limiter.record_login_failure(keys, WINDOW)
    assert await limiter.login_retry_after(keys, limits, WINDOW) == 0
    await limiter.record_login_failure(keys, WINDOW)
    wait = await limiter.login_retry_after(keys, limits, WINDOW)  # the pair is at its limit
    assert 0 < wait <= WINDOW + 1
    # Cleared together: the pair and the user; the address keeps its count.
    await limiter.clear_login_failures([pair, user])
    assert await limiter.login_retry_after(keys, limits, WINDOW) == 0
    assert await limiter.login_retry_after([addr], [2], WINDOW) > 0


def test_counters_on_sql(tmp_path: Path) -> None:
    async def scenario() -> None:
        catalog = await SqlCatalog.open(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
        try:
            await _exercise(SqlDirectory(catalog.engine))
        finally:
            await catalog.close()

    asyncio.run(scenario())


def test_counters_through_the_metadata_service(metadata_server: MetadataServer) -> None:
    async def scenario() -> None:
        client = HttpCatalog(metadata_server.url, metadata_server.token)
        try:
            await _exercise(client)
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
