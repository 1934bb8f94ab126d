"""Load on loopback: 50 concurrent users' tasks (5 users with API tokens, 10 tasks each) mixing
uploads (raw PUT and multipart, 1 KiB-2 MiB), lists (search, sorts, cursors) and Range
downloads for ``FILEBAY_LOAD_SECONDS`` (60): no error at all, no user ever sees another's
file (in lists, by id, by content), and afterwards every stored file's SHA-256 checks out.
p50/p99 latencies per operation go to ``bench/load-results.json`` and the test report."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.auth.support import Portal
from tests.e2e.ops.load import OPS, Load, format_summary, load_seconds, write_results
from tests.e2e.ops.support import LOAD_REPORT, endpoints, load_users
from tests.harness.http import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[3]
RESULTS = ROOT / "bench" / "load-results.json"
USERS = 5
TASKS_PER_USER = 10


def test_fifty_concurrent_users_without_an_error(
    split: Portal, pytestconfig: pytest.Config
) -> None:
    users = load_users(split, USERS)
    load = Load(endpoints(split), users, seconds=load_seconds(), tasks_per_user=TASKS_PER_USER)
    recorder = asyncio.run(load.run())
    summary = recorder.summary()
    checked, problems = asyncio.run(load.verify())
    summary.update(
        shape="split (PostgreSQL)",
        users=USERS,
        tasks_per_user=TASKS_PER_USER,
        verified_files=checked,
    )
    write_results(RESULTS, summary)
    pytestconfig.stash.setdefault(LOAD_REPORT, []).append(format_summary(summary))

    assert recorder.error_count == 0, "\n".join(recorder.errors)
    assert not problems, "\n".join(problems[:20])
    assert all(summary["ops"][op]["count"] > 0 for op in OPS), summary["ops"]
    assert checked == sum(len(u.acked) for u in users) > 0
    assert not any(u.maybe for u in users)


def test_the_load_runs_as_a_script(single: Portal, tmp_path: Path) -> None:
    """``python -m tests.e2e.ops.load``, as the benchmark runs it (briefly, on the all-in-one)."""
    out = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, "-m", "tests.e2e.ops.load", "--url", single.upload,
         "--admin-password", ADMIN_PASSWORD, "--seconds", "3", "--users", "2", "--tasks", "3",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(out.read_text())
    assert result["errors"] == 0
    assert result["verified_files"] > 0
    assert set(result["ops"]) == set(OPS)
    assert "p99 ms" in run.stdout
