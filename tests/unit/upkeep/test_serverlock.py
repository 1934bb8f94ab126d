"""filebay.upkeep.serverlock: a running server's shared lock tells fsck to keep young temps;
its end (a release, or the process's death) tells the opposite."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from filebay.upkeep.serverlock import ServerLock, no_server_running


def test_a_held_lock_means_a_server_runs_and_a_released_one_does_not(tmp_path: Path) -> None:
    with no_server_running(tmp_path) as idle:
        assert idle
    first, second = ServerLock.hold(tmp_path), ServerLock.hold(tmp_path)  # two processes' worth
    with no_server_running(tmp_path) as idle:
        assert not idle
    asyncio.run(first.release())
    with no_server_running(tmp_path) as idle:
        assert not idle
    asyncio.run(second.release())
    asyncio.run(second.release())  # twice is harmless
    with no_server_running(tmp_path) as idle:
        assert idle


def test_a_killed_holder_holds_nothing(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path;"
        "from filebay.upkeep.serverlock import ServerLock;"
        f"ServerLock.hold(Path({str(tmp_path)!r})); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with no_server_running(tmp_path) as idle:
            assert not idle
    finally:
        holder.kill()
        holder.wait(10)
    with no_server_running(tmp_path) as idle:
        assert idle
