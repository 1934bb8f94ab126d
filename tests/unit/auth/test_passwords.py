"""filebay.auth.passwords: Argon2id on a pool of its own."""

from __future__ import annotations

import asyncio
import time

from filebay.auth import passwords


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
