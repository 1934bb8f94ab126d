"""A wrong or empty database never deletes the blobs (issue 13, item 4), through real servers.

The server is restarted on the same data dir with another database while the sweeper runs
every second with no grace and no quarantine: every blob stays, ``/readyz`` answers 503
naming the identity mismatch, the log says why, and ``filebay fsck --repair`` refuses too.
In a matching deployment a real orphan is quarantined, can be restored, and is deleted after
the quarantine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from filebay.ids import is_valid_id, new_id
from tests.harness.database import fresh_database
from tests.harness.servers import Deployment, running
from tests.harness.waiting import wait_until

# The sweeper at full speed: every second, orphans on every pass, no grace, no quarantine.
EAGER = {
    "FILEBAY_SWEEP_SECONDS": "1",
    "FILEBAY_ORPHAN_SWEEP_SECONDS": "0",
    "FILEBAY_TEMP_GRACE_SECONDS": "0",
    "FILEBAY_ORPHAN_QUARANTINE_SECONDS": "0",
}
FILES = 30


def blobs(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "blobs").rglob("*") if p.is_file() and is_valid_id(p.name)}


def quarantined(data_dir: Path) -> set[str]:
    folder = data_dir / "quarantine"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def fsck(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env, "COLUMNS": "250"},
    )


def upload_files(dep: Deployment, count: int) -> dict[str, bytes]:
    stored = {}
    with httpx.Client(timeout=30) as http:
        for n in range(count):
            body = f"file {n} ".encode() * (n + 1)
            answer = http.put(f"{dep.upload}/api/upload/f{n}.txt", content=body)
            assert answer.status_code == 201, answer.text
            stored[answer.json()["id"]] = body
    return stored


def sweeps_seen(dep: Deployment) -> int:
    return dep.processes["all"].log().count("orphan sweep refused")


def assert_wrong_database_is_refused(data_dir: Path, env: dict[str, str]) -> None:
    """The server on ``env``'s (wrong) database: several sweeps, not one blob touched."""
    before = blobs(data_dir)
    assert len(before) == FILES
    with running("all", data_dir, {**env, **EAGER}) as dep:
        wait_until(lambda: sweeps_seen(dep) >= 3, 60, "three refused orphan sweeps")
        assert blobs(data_dir) == before and quarantined(data_dir) == set()
        ready = httpx.get(f"{dep.upload}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert "deployment identity mismatch" in ready.json()["detail"]
        assert ready.json()["checks"]["deployment"].startswith("deployment identity mismatch")
        assert httpx.get(f"{dep.upload}/healthz", timeout=10).status_code == 200
        log = dep.processes["all"].log()
        assert "deployment identity mismatch" in log
        assert "no blob moved or deleted" in log
    repaired = fsck(data_dir, env, "--repair", "--grace-seconds", "0")
    assert repaired.returncode == 1, repaired.stdout + repaired.stderr
    assert "refused: deployment identity mismatch" in repaired.stdout
    assert blobs(data_dir) == before and quarantined(data_dir) == set()


def assert_right_database_serves_everything(
    data_dir: Path, env: dict[str, str], stored: dict[str, bytes]
) -> None:
    with running("all", data_dir, env) as dep, httpx.Client(timeout=30) as http:
        ready = http.get(f"{dep.upload}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["deployment"] == "ok"
        assert ready.json()["checks"]["schema"] == "ok"
        for file_id, body in stored.items():
            assert http.get(f"{dep.download}/api/files/{file_id}/content").content == body


def test_an_empty_sqlite_database_elsewhere_never_deletes_the_blobs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with running("all", data_dir) as dep:
        stored = upload_files(dep, FILES)
        assert httpx.get(f"{dep.upload}/readyz", timeout=10).status_code == 200

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    wrong = {"FILEBAY_DATABASE_URL": f"sqlite+aiosqlite:///{elsewhere / 'filebay.db'}"}
    assert_wrong_database_is_refused(data_dir, wrong)
    assert_right_database_serves_everything(data_dir, {}, stored)


@pytest.mark.postgres
def test_a_fresh_postgresql_database_never_deletes_the_blobs(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with fresh_database("orphan_right") as right, fresh_database("orphan_wrong") as wrong:
        with running("all", data_dir, {"FILEBAY_DATABASE_URL": right}) as dep:
            stored = upload_files(dep, FILES)
        assert_wrong_database_is_refused(data_dir, {"FILEBAY_DATABASE_URL": wrong})
        assert_right_database_serves_everything(data_dir, {"FILEBAY_DATABASE_URL": right}, stored)


def test_a_real_orphan_is_quarantined_restorable_then_deleted(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    hold = {**EAGER, "FILEBAY_ORPHAN_QUARANTINE_SECONDS": "3600"}
    with running("all", data_dir, hold) as dep:
        stored = upload_files(dep, 3)
        # What a crash between publishing a blob and writing its record leaves.
        orphan = new_id()
        path = data_dir / "blobs" / orphan[:2] / orphan[2:4] / orphan
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"published, then the process died before the record")
        wait_until(lambda: orphan in quarantined(data_dir), 30, "the orphan to be quarantined")
        assert blobs(data_dir) == set(stored)
        assert httpx.get(f"{dep.upload}/readyz", timeout=10).status_code == 200

    report = fsck(data_dir, {})
    assert report.returncode == 0, report.stdout + report.stderr
    assert "1 blobs in quarantine" in report.stdout
    restored = fsck(data_dir, {}, "--restore-quarantine")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert path.read_bytes() == b"published, then the process died before the record"
    assert quarantined(data_dir) == set()

    short = {**EAGER, "FILEBAY_ORPHAN_QUARANTINE_SECONDS": "2"}
    with running("all", data_dir, short) as dep, httpx.Client(timeout=30) as http:
        wait_until(lambda: orphan in quarantined(data_dir), 30, "the orphan quarantined again")
        wait_until(lambda: quarantined(data_dir) == set(), 30, "the quarantine to end")
        assert blobs(data_dir) == set(stored)
        for file_id, body in stored.items():
            assert http.get(f"{dep.download}/api/files/{file_id}/content").content == body
