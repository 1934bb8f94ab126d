"""Failed-login limits under parallel requests, and the Argon2 queue under a burst.

Every attempt is counted (reserved) before its password is hashed, so a burst of parallel
guesses meets the same limits as guesses made one after another; the hashing queue is
bounded, per client address and in total, and served address by address, so a burst from
one address neither locks its target out elsewhere nor holds up other people's logins.

Client addresses: any of 127.0.0.0/8 is loopback, so a client bound to 127.0.0.N is a
client of its own address (each test uses addresses no other test of the module uses)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.e2e.auth.support import (
    LOGIN_MAX_FAILURES,
    LOGIN_MAX_FAILURES_PER_USER,
    Portal,
    running_portal,
)
from tests.harness.http import PASSWORD, unique

# Default FILEBAY_LOGIN_MAX_FAILURES_PER_ADDRESS.
PER_ADDRESS = 50
# A small total hashing queue, so that a burst from many addresses overflows it quickly.
HASH_QUEUE_MAX = 8
# One login from each of these at once.
ADDRESSES = [f"127.0.1.{i}" for i in range(1, 41)]


@pytest.fixture(scope="module", params=["all", "split"])
def portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Portal]:
    shape: str = request.param
    data_dir = tmp_path_factory.mktemp(f"bursts-{shape}")
    env = {"FILEBAY_HASH_QUEUE_MAX": str(HASH_QUEUE_MAX)}
    with running_portal(shape, data_dir, pg_url, env) as running:
        yield running


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


async def post_form(
    url: str, form: dict[str, str], address: str, headers: dict[str, str] | None = None
) -> Answer:
    """One POST of ``form`` on a connection of its own from ``address``, written by hand:
    httpx spends tens of milliseconds of CPU on each of hundreds of parallel connections,
    which would make the client, not the server, the bottleneck of a burst."""
    parts = urlsplit(url)
    body = urlencode(form).encode()
    head = {
        "Host": parts.netloc,
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)),
        "Connection": "close",
        **(headers or {}),
    }
    request = f"POST {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
    reader, writer = await asyncio.open_connection(
        parts.hostname, parts.port, local_addr=(address, 0)
    )
    try:
        writer.write(request.encode() + b"\r\n" + body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 300)
    finally:
        writer.close()
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    fields = dict(line.split(":", 1) for line in lines)
    return Answer(
        int(status_line.split()[1]),
        {k.strip().lower(): v.strip() for k, v in fields.items()},
        rest,
    )


async def burst(
    url: str,
    forms: list[dict[str, str]],
    address: str,
    answered: asyncio.Event | None = None,
    headers: dict[str, str] | None = None,
) -> list[Answer]:
    """Every form POSTed at once from ``address``; ``answered`` is set at the first answer."""

    async def one(form: dict[str, str]) -> Answer:
        answer = await post_form(url, form, address, headers)
        if answered is not None:
            answered.set()
        return answer

    return list(await asyncio.gather(*(one(form) for form in forms)))


def _statuses(answers: list[Answer]) -> Counter[int]:
    return Counter(a.status for a in answers)


def _failure_count(portal: Portal, key: str) -> int:
    """The failure counter ``key`` as stored (0 when it has no row)."""
    rows = {row["key"]: row["count"] for row in portal.rows("login_failures")}
    return int(rows.get(key, 0))


def _token(portal: Portal, address: str, username: str, password: str) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=60.0) as http:
        return http.post(
            f"{portal.auth}/api/auth/token", data={"username": username, "password": password}
        )


def test_parallel_wrong_passwords_meet_the_limits(portal: Portal) -> None:
    """120 parallel wrong passwords for one user from one address: exactly as many are
    checked as one after another would be (FILEBAY_LOGIN_MAX_FAILURES); the rest answer 429
    without being checked. The same for 120 parallel guesses at 120 names from one
    address: never more than the per-address limit are checked."""
    username = unique("parallel")
    portal.add_user(username)
    url = f"{portal.auth}/api/auth/token"
    address = "127.0.0.20"
    forms = [{"username": username, "password": f"wrong {i}"} for i in range(120)]
    answers = asyncio.run(burst(url, forms, address))
    statuses = _statuses(answers)
    assert statuses == {401: LOGIN_MAX_FAILURES, 429: 120 - LOGIN_MAX_FAILURES}, statuses
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status == 429)
    assert _failure_count(portal, f"pair:{username}|{address}") == LOGIN_MAX_FAILURES
    # The address is held back for that user even with the right password; nobody else is.
    assert _token(portal, address, username, PASSWORD).status_code == 429
    assert _token(portal, "127.0.0.1", username, PASSWORD).status_code == 200

    address = "127.0.0.21"
    forms = [{"username": unique("nobody"), "password": "wrong"} for _ in range(120)]
    statuses = _statuses(asyncio.run(burst(url, forms, address)))
    assert set(statuses) <= {401, 429}, statuses
    assert 1 <= statuses[401] <= PER_ADDRESS, statuses
    # What was refused before its check does not count: the counter is what was checked.
    assert _failure_count(portal, f"addr:{address}") == statuses[401]


def test_a_burst_from_one_address_does_not_lock_the_user_out_elsewhere(portal: Portal) -> None:
    """110 parallel wrong passwords from one address (more than the per-user limit over all
    addresses): that address is held back, but the user logs in from their own."""
    username = unique("target")
    portal.add_user(username)
    forms = [{"username": username, "password": f"wrong {i}"} for i in range(110)]
    assert LOGIN_MAX_FAILURES_PER_USER < 110
    statuses = _statuses(asyncio.run(burst(f"{portal.auth}/api/auth/token", forms, "127.0.0.30")))
    assert statuses[401] <= LOGIN_MAX_FAILURES, statuses
    assert _failure_count(portal, f"user:{username}") <= LOGIN_MAX_FAILURES
    response = _token(portal, "127.0.0.1", username, PASSWORD)
    assert response.status_code == 200, response.text
    assert _token(portal, "127.0.0.30", username, PASSWORD).status_code == 429


def test_a_login_from_another_address_stays_fast_during_a_burst(portal: Portal) -> None:
    """300 parallel wrong passwords (each for a name of its own) from one address, and
    meanwhile one real login from another: it is served at once, not behind the burst."""
    username = unique("patient")
    portal.add_user(username)
    url = f"{portal.auth}/api/auth/token"
    forms = [{"username": unique("guess"), "password": "wrong"} for _ in range(300)]

    async def scenario() -> tuple[float, bool, Counter[int]]:
        answered = asyncio.Event()
        guesses = asyncio.create_task(burst(url, forms, "127.0.0.40", answered))
        await answered.wait()  # the burst has arrived and is being answered
        during = not guesses.done()
        started = time.monotonic()
        response = await post_form(url, {"username": username, "password": PASSWORD}, "127.0.0.41")
        took = time.monotonic() - started
        assert response.status == 200, response.body
        return took, during, _statuses(await guesses)

    took, during, statuses = asyncio.run(scenario())
    print(f"\n[{portal.shape}] a login during a 300-request burst took {took:.2f} s: {statuses}")
    assert during, "the burst was over before the login started"
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= PER_ADDRESS, statuses
    assert took < 5.0, f"a login from another address waited {took:.1f} s behind the burst"


def test_a_deep_hashing_queue_answers_503_with_retry_after(portal: Portal) -> None:
    """Forty logins at once from forty addresses (each well within its limits): the hashing
    queue takes FILEBAY_HASH_QUEUE_MAX of them and the rest answer 503 with Retry-After at
    once, not after minutes in the queue."""
    url = f"{portal.auth}/api/auth/token"

    async def scenario() -> list[Answer]:
        return list(
            await asyncio.gather(
                *(
                    post_form(url, {"username": unique("many"), "password": "wrong"}, address)
                    for address in ADDRESSES
                )
            )
        )

    answers = asyncio.run(scenario())
    statuses = _statuses(answers)
    assert set(statuses) == {401, 503}, statuses
    assert statuses[401] >= HASH_QUEUE_MAX, statuses
    for answer in answers:
        if answer.status == 503:
            assert int(answer.headers["retry-after"]) > 0
            assert json.loads(answer.body)["code"] == "hashing_busy"
    # Refused before its check, the attempt was not counted against the address.
    counts = [_failure_count(portal, f"addr:{address}") for address in ADDRESSES]
    assert set(counts) <= {0, 1} and sum(counts) == statuses[401], counts
