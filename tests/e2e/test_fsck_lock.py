"""``filebay fsck --repair`` after a crash: with no server holding the data dir (the server
lock), every temp file a crash left goes, however young; while a server runs (both shapes'
processes hold the lock), only stale ones do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.database import fresh_database
from tests.harness.servers import start_deployment


def fsck(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("shape", ["all", "split"])
def test_a_crash_leaves_no_temp_file_behind_an_idle_fsck(
    tmp_path: Path, shape: str, pg_url: str
) -> None:
    data_dir = tmp_path / "data"
    env: dict[str, str] = {}
    if shape == "split":
        with fresh_database("filebay_fsck_lock", pg_url) as url:
            env["FILEBAY_DATABASE_URL"] = url
            run_scenario(data_dir, shape, env)
    else:
        run_scenario(data_dir, shape, env)


def run_scenario(data_dir: Path, shape: str, env: dict[str, str]) -> None:
    deployment = start_deployment(shape, data_dir, env)
    part = data_dir / "tmp" / "0123456789abcdef0123456789abcdef.part"
    try:
        part.write_bytes(b"half an upload")  # as young as an upload in flight
        db = ["--database-url", env["FILEBAY_DATABASE_URL"]] if env else []
        running = fsck(data_dir, "--repair", *db)
        assert running.returncode == 0, running.stdout + running.stderr
        assert part.exists(), "a young temp file was removed while a server runs"
        for process in deployment.processes.values():
            process.kill()  # SIGKILL: no shutdown, as in a crash
        idle = fsck(data_dir, "--repair", *db)
        assert "stale_temp" in idle.stdout, idle.stdout + idle.stderr
        assert not part.exists()
        assert fsck(data_dir, *db).returncode == 0
    finally:
        deployment.stop()
