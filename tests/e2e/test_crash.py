"""Crashes at the worst moments, and ``filebay fsck`` finding (and repairing) what they left."""

from __future__ import annotations

import hashlib
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.api.support import temp_files
from tests.harness.http import client
from tests.harness.servers import Deployment, ServerProcess, assert_no_crashes, free_port
from tests.harness.waiting import wait_until

MIB = 1024 * 1024
UPLOAD_SIZE = 300 * MIB
SENT_BEFORE_KILL = 100 * MIB

pytestmark = pytest.mark.slow


def start_server(data_dir: Path, log_path: Path) -> Deployment:
    env = {
        "FILEBAY_LOG_LEVEL": "warning",
        "FILEBAY_AUTH": "off",
        "FILEBAY_MAX_UPLOAD_BYTES": str(UPLOAD_SIZE * 2),
    }
    proc = ServerProcess("all", free_port(), data_dir, env, log_path).start()
    return Deployment("all", data_dir, {"all": proc})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[Deployment]:
    dep = start_server(data_dir, tmp_path / "server.log")
    try:
        yield dep
        assert_no_crashes(dep)
    finally:
        dep.stop()


def fsck(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def blob_path(data_dir: Path, key: str) -> Path:
    return data_dir / "blobs" / key[:2] / key[2:4] / key


def upload(http: httpx.Client, dep: Deployment, name: str, data: bytes) -> dict:
    r = http.put(f"{dep.upload}/api/upload/{name}", content=data)
    assert r.status_code == 201, r.text
    return r.json()


def test_sigkill_mid_upload_leaves_no_record_and_fsck_repairs_the_temp(
    data_dir: Path, tmp_path: Path
) -> None:
    first = start_server(data_dir, tmp_path / "first.log")
    try:
        with client() as http:
            kept = upload(http, first, "kept.txt", b"stored before the crash")
        host, port = "127.0.0.1", first.processes["all"].port
        sock = socket.create_connection((host, port), timeout=30)
        sock.sendall(
            f"PUT /api/upload/crash.bin HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Length: {UPLOAD_SIZE}\r\n\r\n".encode()
        )
        block = secrets.token_bytes(MIB)
        for _ in range(SENT_BEFORE_KILL // MIB):
            sock.sendall(block)
        # Kill while the server is writing: its temp file holds most of what was sent.
        wait_until(
            lambda: sum(p.stat().st_size for p in temp_files(data_dir)) >= SENT_BEFORE_KILL // 2,
            timeout=30,
            what="the server to write the upload's temp file",
        )
        first.processes["all"].kill()
        sock.close()
    finally:
        first.stop()

    stale = temp_files(data_dir)
    assert stale, "the killed upload's temp file is the leftover fsck must find"
    second = start_server(data_dir, tmp_path / "second.log")
    try:
        with client() as http:
            items = http.get(f"{second.metadata}/api/files", params={"limit": 1000}).json()["items"]
            names = {item["name"]: item for item in items}
            if "crash.bin" in names:  # only acceptable whole, which it cannot be here
                assert names["crash.bin"]["size"] == UPLOAD_SIZE
            assert "crash.bin" not in names
            got = http.get(f"{second.download}/api/files/{kept['id']}/content")
            assert got.content == b"stored before the crash"
            assert got.headers["etag"] == f'"{kept["sha256"]}"'

            report = fsck(data_dir, "--grace-seconds", "0")
            assert report.returncode == 1, report.stdout + report.stderr
            assert "stale_temp" in report.stdout

            young = fsck(data_dir)  # default grace: a temp file this young may be in flight
            assert young.returncode == 0, young.stdout + young.stderr

            repaired = fsck(data_dir, "--grace-seconds", "0", "--repair")
            assert repaired.returncode == 0, repaired.stdout + repaired.stderr
            assert temp_files(data_dir) == []
            again = fsck(data_dir, "--grace-seconds", "0")
            assert again.returncode == 0, again.stdout + again.stderr
            assert "0 problems" in again.stdout

            # Every route still answers after the crash and the repair; none with a 500.
            after = upload(http, second, "after.txt", b"after the crash")
            assert http.get(f"{second.metadata}/api/files/{after['id']}").status_code == 200
            assert http.get(f"{second.download}/api/files/{kept['id']}/content").status_code == 200
            assert http.get(f"{second.upload}/readyz").status_code == 200
            assert http.get(f"{second.upload}/").status_code == 200
            assert http.delete(f"{second.metadata}/api/files/{after['id']}").status_code == 204
        assert_no_crashes(second)
    finally:
        second.stop()


def test_orphan_blob_from_a_crash_before_the_record_is_found_and_removed(
    server: Deployment, data_dir: Path
) -> None:
    with client() as http:
        normal = upload(http, server, "normal.txt", b"has a record")
    orphan_id = secrets.token_hex(16)
    orphan = blob_path(data_dir, orphan_id)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"published, then the process died before the catalog row")

    with client() as http:
        assert http.get(f"{server.metadata}/api/files/{orphan_id}").status_code == 404
        assert http.get(f"{server.download}/api/files/{orphan_id}/content").status_code == 404

    young = fsck(data_dir)  # a fresh orphan may be an upload whose record is being written
    assert young.returncode == 0, young.stdout
    report = fsck(data_dir, "--grace-seconds", "0")
    assert report.returncode == 1
    assert "orphan_blob" in report.stdout
    assert orphan_id[:8] in report.stdout
    assert normal["id"][:8] not in report.stdout

    repaired = fsck(data_dir, "--grace-seconds", "0", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert not orphan.exists()
    assert blob_path(data_dir, normal["id"]).exists()
    assert fsck(data_dir, "--grace-seconds", "0").returncode == 0


def test_record_whose_blob_was_deleted_is_reported_missing_and_answers_404(
    server: Deployment, data_dir: Path
) -> None:
    with client() as http:
        lost = upload(http, server, "lost.txt", b"these bytes will vanish")
        fine = upload(http, server, "fine.txt", b"these stay")
        blob_path(data_dir, lost["id"]).unlink()

        content = f"{server.download}/api/files/{lost['id']}/content"
        assert http.get(content).status_code == 404
        assert http.get(content, headers={"Range": "bytes=0-3"}).status_code == 404

        report = fsck(data_dir)
        assert report.returncode == 1
        assert "missing_blob" in report.stdout
        assert lost["id"][:8] in report.stdout
        assert fine["id"][:8] not in report.stdout

        # Repair drops the dead record; the loss is still reported (exit 1) that once.
        repaired = fsck(data_dir, "--repair")
        assert repaired.returncode == 1
        assert "missing_blob" in repaired.stdout
        assert http.get(f"{server.metadata}/api/files/{lost['id']}").status_code == 404
        assert http.get(f"{server.download}/api/files/{fine['id']}/content").status_code == 200
        assert fsck(data_dir).returncode == 0


def test_verify_finds_a_blob_whose_bytes_changed(server: Deployment, data_dir: Path) -> None:
    with client() as http:
        record = upload(http, server, "rot.bin", b"A" * 4096)
    path = blob_path(data_dir, record["id"])
    path.write_bytes(b"B" * 4096)  # same size: only hashing notices
    assert record["sha256"] == hashlib.sha256(b"A" * 4096).hexdigest()
    assert fsck(data_dir).returncode == 0
    report = fsck(data_dir, "--verify")
    assert report.returncode == 1
    assert "sha256_mismatch" in report.stdout
    # Repair never touches damaged bytes: they are evidence, not leftovers.
    assert fsck(data_dir, "--verify", "--repair").returncode == 1
    assert path.read_bytes() == b"B" * 4096
