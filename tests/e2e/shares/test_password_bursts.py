"""A link's password under parallel guesses: each guess is counted before it is checked, so
a burst meets the same ten-per-link limit as guesses made one after another."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.e2e.shares.support import SHARE_PASSWORD, Portal

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PASSWORD_FAILURES = 10  # per link (filebay.sharing.links.PASSWORD_FAILURES)


async def _burst(url: str, passwords: list[str], address: str) -> list[httpx.Response]:
    """Every password POSTed at once, each on a connection of its own from ``address``."""
    limits = httpx.Limits(max_connections=len(passwords))
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    async with httpx.AsyncClient(transport=transport, timeout=180.0) as http:
        return list(
            await asyncio.gather(
                *(http.post(url, data={"password": p}, headers=HTML) for p in passwords)
            )
        )


def test_parallel_wrong_share_passwords_meet_the_limit(
    portal: Portal, owner: dict[str, str]
) -> None:
    file_id = portal.put(owner, "burst.bin", b"burst" * 100)
    share = portal.share(owner, file_id, password=SHARE_PASSWORD)
    url = portal.page_url(share["token"])
    responses = asyncio.run(_burst(url, [f"guess {i}" for i in range(40)], "127.0.0.50"))
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses[401] <= PASSWORD_FAILURES, statuses
    assert all(int(r.headers["retry-after"]) > 0 for r in responses if r.status_code == 429)
    # The link's counter is what was checked: refused guesses were never counted.
    (counter,) = [
        row for row in portal.rows("login_failures") if row["key"] == f"share:{share['id']}"
    ]
    assert counter["count"] == statuses[401]
