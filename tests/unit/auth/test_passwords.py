"""filebay.auth.passwords: Argon2id on a pool of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from filebay.auth import passwords
from filebay.errors import HashingBusy, TooManyAtOnce


def test_hash_and_verify() -> None:
    async def scenario() -> None:
        stored = await passwords.hash_password("correct horse")
        assert stored.startswith("$argon2id$")
        assert await passwords.verify_password(stored, "correct horse")
        assert not await passwords.verify_password(stored, "wrong horse")
        assert not await passwords.verify_password(None, "correct horse")  # no such user
        assert not await passwords.verify_password("not a hash", "correct horse")

    asyncio.run(scenario())


def test_a_burst_of_logins_does_not_hold_up_the_worker_threads() -> None:
    async def scenario() -> None:
        started = time.monotonic()
        await passwords.verify_password(None, "x")
        one_check = time.monotonic() - started
        burst = [
            asyncio.create_task(passwords.verify_password(None, f"guess {i}")) for i in range(12)
        ]
        await asyncio.sleep(0)  # the burst is queued on its pool
        waits = []
        for _ in range(5):  # what a file read or fsync waits for a worker thread meanwhile
            started = time.monotonic()
            await asyncio.to_thread(lambda: None)
            waits.append(time.monotonic() - started)
        burst_running = not all(task.done() for task in burst)
        assert not any(await asyncio.gather(*burst))
        assert burst_running  # the measurements above were taken during the burst
        assert max(waits) < one_check / 2, (waits, one_check)

    asyncio.run(scenario())


def test_the_queue_serves_addresses_in_turn_and_refuses_past_its_bounds() -> None:
    """A burst from one address waits behind itself: a check from another address starts as
    soon as a thread is free. Past the per-address bound a check is refused (429), past the
    total bound too (503), at once and without being queued."""

    async def scenario() -> None:
        queue = passwords.FairQueue(threads=1)
        order: list[str] = []
        gate = threading.Event()

        def job(name: str) -> Callable[[], str]:
            def run() -> str:
                gate.wait(5)
                order.append(name)
                return name

            return run

        bound = passwords.QueueBound(total=6, per_lane=4)
        burst = [asyncio.create_task(queue.run("a", job(f"a{i}"), bound)) for i in range(4)]
        await asyncio.sleep(0)
        with pytest.raises(TooManyAtOnce):
            await queue.run("a", job("a-late"), bound)
        other = asyncio.create_task(queue.run("b", job("b0"), bound))
        more = asyncio.create_task(queue.run("c", job("c0"), bound))
        await asyncio.sleep(0)
        assert queue.depth == 6
        with pytest.raises(HashingBusy) as busy:
            await queue.run("d", job("d0"), bound)
        assert busy.value.retry_after >= 1
        gate.set()
        assert await asyncio.gather(*burst, other, more) == ["a0", "a1", "a2", "a3", "b0", "c0"]
        # a0 was running when b and c came: they go next, then the rest of a's burst.
        assert order == ["a0", "b0", "c0", "a1", "a2", "a3"]
        assert queue.depth == 0

    asyncio.run(scenario())


def test_a_cancelled_check_leaves_the_queue() -> None:
    async def scenario() -> None:
        queue = passwords.FairQueue(threads=1)
        gate = threading.Event()
        first = asyncio.create_task(queue.run("a", lambda: gate.wait(5)))
        waiting = asyncio.create_task(queue.run("a", lambda: True))
        await asyncio.sleep(0)
        assert queue.depth == 2
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert queue.depth == 1
        gate.set()
        assert await first is True
        assert queue.depth == 0

    asyncio.run(scenario())
