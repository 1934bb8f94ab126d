"""Parts that fail under filebay: the catalog down or hanging (503), the blob store full (507)."""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from filebay.config import Settings
from filebay.http.deps import get_store
from filebay.storage.local import LocalBlobStore, LocalBlobWriter, _Appender
from filebay_server.app import create_app
from tests.e2e.api.support import (
    Part,
    blob_files,
    multipart_body,
    multipart_type,
    names_and_ids,
    own_deployment,
    raw_request,
    settle,
    temp_files,
)
from tests.harness.http import OUTAGE, client, timed
from tests.harness.servers import Deployment, free_port
from tests.harness.waiting import wait_until

MIB = 1024 * 1024
QUICK = 5.0  # seconds: "503 within a few seconds", never a hang


def fsck(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--data-dir", str(data_dir),
         "--database-url", database_url, "--grace-seconds", "0", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# --- the catalog (metadata service) down ------------------------------------------------------


def test_catalog_killed_answers_503_quickly_and_leaves_no_blob(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    env = {"FILEBAY_DATABASE_URL": fresh_pg_url}
    with (
        own_deployment("split", tmp_path / "data", env) as dep,
        client(allow=OUTAGE) as http,
    ):
        before = http.put(f"{dep.upload}/api/upload/before.txt", content=b"stored before")
        assert before.status_code == 201
        content = f"{dep.download}/api/files/{before.json()['id']}/content"
        blobs = blob_files(dep.data_dir)

        dep.processes["metadata"].kill()

        calls = {
            "put": lambda: http.put(f"{dep.upload}/api/upload/during.txt", content=b"x" * 300_000),
            "post": lambda: http.post(
                f"{dep.upload}/api/files", files=[("file", ("during.txt", b"y" * 1000))]
            ),
            "content": lambda: http.get(content),
            "head": lambda: http.head(content),
            "range": lambda: http.get(content, headers={"Range": "bytes=0-3"}),
            "home page": lambda: http.get(f"{dep.upload}/", headers={"Accept": "text/html"}),
            "uploads page": lambda: http.get(f"{dep.download}/uploads"),
        }
        for what, call in calls.items():
            r, elapsed = timed(call)
            assert r.status_code == 503, (what, r.status_code, r.text)
            assert elapsed < QUICK, (what, elapsed)
            assert r.headers.get("retry-after"), what
        for name in ("upload", "download"):
            url = dep.processes[name].url
            ready, elapsed = timed(lambda url=url: http.get(f"{url}/readyz"))
            assert ready.status_code == 503
            assert elapsed < QUICK
            assert ready.json()["checks"]["catalog"] != "ok"
            assert http.get(f"{url}/healthz").status_code == 200

        assert blob_files(dep.data_dir) == blobs, "a failed upload left its blob behind"
        assert temp_files(dep.data_dir) == []

        # The catalog comes back: everything works again, and nothing was half-written.
        dep.processes["metadata"].start()
        assert http.get(f"{dep.upload}/readyz").status_code == 200
        assert http.get(content).content == b"stored before"
        after = http.put(f"{dep.upload}/api/upload/after.txt", content=b"after")
        assert after.status_code == 201
        assert names_and_ids(dep.metadata, "during") == {}
        report = fsck(dep.data_dir, fresh_pg_url)
        assert report.returncode == 0, report.stdout + report.stderr


def test_catalog_hanging_answers_503_and_never_leaves_a_record_without_its_blob(
    tmp_path: Path, fresh_pg_url: str
) -> None:
    """A write the metadata service received but answered too late may still be committed:
    the upload must then keep its blob (an orphan for fsck at worst, never a lost file)."""
    env = {"FILEBAY_DATABASE_URL": fresh_pg_url, "FILEBAY_CATALOG_TIMEOUT": "1.5"}
    with (
        own_deployment("split", tmp_path / "data", env) as dep,
        client(allow=OUTAGE) as http,
    ):
        metadata = dep.processes["metadata"].proc
        assert metadata is not None
        os.kill(metadata.pid, signal.SIGSTOP)
        try:
            put, elapsed = timed(
                lambda: http.put(f"{dep.upload}/api/upload/hung.txt", content=b"hung")
            )
            assert put.status_code == 503
            assert elapsed < QUICK
            ready, elapsed = timed(lambda: http.get(f"{dep.download}/readyz"))
            assert ready.status_code == 503
            assert elapsed < QUICK
            assert http.get(f"{dep.download}/healthz").status_code == 200
        finally:
            os.kill(metadata.pid, signal.SIGCONT)
        wait_until(lambda: http.get(f"{dep.upload}/readyz").status_code == 200, timeout=10)
        # Whatever the metadata service did with the late request, no record lost its bytes.
        for file_id in names_and_ids(dep.metadata, "hung"):
            got = http.get(f"{dep.download}/api/files/{file_id}/content")
            assert got.status_code == 200
            assert got.content == b"hung"
        report = fsck(dep.data_dir, fresh_pg_url)
        assert "missing_blob" not in report.stdout, report.stdout


# --- the blob store full (ENOSPC) -------------------------------------------------------------


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here ({result.stderr.strip()}); run the tests as root")


@pytest.fixture(params=["all", "split"])
def full_disk(
    request: pytest.FixtureRequest, tmp_path: Path, fresh_pg_url: str
) -> Iterator[Deployment]:
    """filebay whose data dir is a real 4 MiB tmpfs (the catalog lives elsewhere)."""
    data_dir = tmp_path / "data"
    _mount_tmpfs(data_dir, "4m")
    try:
        shape: str = request.param
        env = {"FILEBAY_MAX_UPLOAD_BYTES": str(64 * MIB)}
        if shape == "split":
            env["FILEBAY_DATABASE_URL"] = fresh_pg_url
            # Given here, so the services need not write it into the (soon full) data dir.
            env["FILEBAY_SERVICE_TOKEN"] = "test-service-token-0123456789abcdef"
        else:
            env["FILEBAY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'catalog.db'}"
        with own_deployment(shape, data_dir, env) as dep:
            yield dep
    finally:
        subprocess.run(["umount", "-l", str(data_dir)], check=False)


def test_upload_to_a_full_blob_store_answers_507_and_stores_nothing(
    full_disk: Deployment,
) -> None:
    dep = full_disk
    data = b"f" * (8 * MIB)
    pieces = [data[i : i + MIB] for i in range(0, len(data), MIB)]
    form = multipart_body(
        [Part("file", b"small", filename=b"full-1.txt"), Part("file", data, filename=b"full-2.bin")]
    )
    length = {"Content-Length": str(len(data))}
    cases = [
        ("put", "PUT", "/api/upload/full.bin", length, pieces, False),
        ("chunked put", "PUT", "/api/upload/full.bin", {}, pieces, True),
        (
            "multipart",
            "POST",
            "/api/files",
            {"Content-Type": multipart_type(), "Content-Length": str(len(form))},
            [form],
            False,
        ),
    ]
    for what, method, path, headers, body, chunked in cases:
        r = raw_request(dep.upload, method, path, headers, body, chunked=chunked)
        assert r.status == 507, (what, r.status, r.body)
        assert b"detail" in r.body
        settle(dep.data_dir, set())
        assert names_and_ids(dep.metadata, "full") == {}, what

    with client(allow=OUTAGE) as http:
        # Still serving: small uploads fit, the store is "full", not "down".
        assert http.get(f"{dep.upload}/readyz").status_code == 200
        assert http.get(f"{dep.upload}/healthz").status_code == 200
        big = http.put(f"{dep.upload}/api/upload/big.bin", content=b"b" * (3 * MIB))
        assert big.status_code == 201
        second = http.put(f"{dep.upload}/api/upload/second.bin", content=b"s" * (2 * MIB))
        assert second.status_code == 507
        got = http.get(f"{dep.download}/api/files/{big.json()['id']}/content")
        assert got.content == b"b" * (3 * MIB)
        assert (
            http.delete(f"{dep.metadata}/api/files/{big.json()['id']}?permanent=true").status_code
            == 204
        )
        again = http.put(f"{dep.upload}/api/upload/second.bin", content=b"s" * (2 * MIB))
        assert again.status_code == 201
    assert temp_files(dep.data_dir) == []


def test_a_tus_patch_that_fills_the_disk_answers_507_and_gives_the_space_back(
    full_disk: Deployment,
) -> None:
    """The bytes that reached the disk before it filled are past the upload's recorded
    offset: they go, or the disk (and a catalog on it) stays full until the upload expires."""
    dep = full_disk
    tus = {"Tus-Resumable": "1.0.0"}
    data = b"t" * (8 * MIB)
    with client(allow=OUTAGE) as http:
        created = http.post(
            f"{dep.upload}/api/tus/", headers={**tus, "Upload-Length": str(len(data))}
        )
        assert created.status_code == 201
        url = f"{dep.upload}{created.headers['Location']}"
        patched = http.patch(
            url,
            headers={
                **tus,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
            content=data,
        )
        assert patched.status_code == 507, patched.text
        staged = dep.data_dir / "staging" / url.rsplit("/", 1)[1]
        assert staged.stat().st_size == 0
        head = http.head(url, headers=tus)
        assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
        # The space is free again: a file that needs most of the disk fits.
        fits = http.put(f"{dep.upload}/api/upload/fits.bin", content=b"f" * (3 * MIB))
        assert fits.status_code == 201, fits.text
        assert http.delete(url, headers=tus).status_code == 204
    assert not staged.exists()


class _FullWriter(LocalBlobWriter):
    """A local writer on a disk that has ``room`` bytes left."""

    room = 2 * MIB

    def __init__(self, store: LocalBlobStore, key: str) -> None:
        super().__init__(store, key)
        self._written = 0
        self._full_disk_installed = False

    def _appender(self) -> _Appender:
        # The disk fills where the real write happens (in the worker thread), so the
        # writer's own translation of OSError(ENOSPC) is what the test exercises.
        out = super()._appender()
        if self._full_disk_installed:
            return out
        append = out.append

        def append_until_full(data: bytes | bytearray | memoryview) -> None:
            if self._written + len(data) > self.room:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._written += len(data)
            append(data)

        out.append = append_until_full  # type: ignore[method-assign]
        self._full_disk_installed = True
        return out


class _FullStore(LocalBlobStore):
    async def open_writer(self, key: str) -> LocalBlobWriter:
        return _FullWriter(self, key)


class _ErrorLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def in_process_full(tmp_path: Path) -> Iterator[str]:
    """The all-in-one app served by uvicorn in a thread, its blob store swapped through
    ``dependency_overrides`` for one whose writes fail with ENOSPC past 2 MiB."""
    settings = Settings(data_dir=tmp_path / "data", max_upload_bytes=64 * MIB, auth="off")
    settings.data_dir.mkdir()
    app = create_app(settings)
    full = _FullStore(settings.data_dir.resolve())

    app.dependency_overrides[get_store] = lambda: full
    errors = _ErrorLogs()
    logging.getLogger("uvicorn.error").addHandler(errors)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=15, what="in-process server")
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(15)
        logging.getLogger("uvicorn.error").removeHandler(errors)
    assert not errors.records, [r.getMessage() for r in errors.records]


def test_enospc_from_the_blob_writer_answers_507_in_process(
    in_process_full: str, tmp_path: Path
) -> None:
    base = in_process_full
    data_dir = tmp_path / "data"
    with client(allow=OUTAGE) as http:
        r = http.put(f"{base}/api/upload/too-big.bin", content=b"x" * (3 * MIB))
        assert r.status_code == 507
        assert r.json()["detail"]
        body = multipart_body(
            [
                Part("file", b"ok", filename=b"one.txt"),
                Part("file", b"y" * (3 * MIB), filename=b"two"),
            ]
        )
        r = http.post(f"{base}/api/files", content=body, headers={"Content-Type": multipart_type()})
        assert r.status_code == 507
        assert temp_files(data_dir) == []
        assert blob_files(data_dir) == set()
        assert http.get(f"{base}/api/files").json()["items"] == []
        small = http.put(f"{base}/api/upload/small.txt", content=b"fits")
        assert small.status_code == 201
        assert http.get(f"{base}/api/files/{small.json()['id']}/content").content == b"fits"
        assert http.get(f"{base}/readyz").status_code == 200
