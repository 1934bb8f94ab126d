"""Uploads that are cut off (client killed, server restarted) and then resumed, and one
upload served by two upload-service processes."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tusclient.client import TusClient

from filebay.transfer.tus.service import LEASE_SECONDS
from tests.e2e.tus import jsclient
from tests.e2e.tus.support import (
    OFFSET_TYPE,
    Site,
    extra_process,
    file_sha256,
    random_file,
    sha256,
    upload_id,
)
from tests.harness.http import client
from tests.harness.waiting import wait_until

CHUNK = 512 * 1024


def test_client_killed_mid_patch_then_a_new_client_resumes(
    site: Site, tus_js: Path, tmp_path: Path
) -> None:
    """tus-js-client hangs in the middle of its third PATCH and is SIGKILLed; what reached
    the server is kept, and a fresh process goes on from the server's offset."""
    path = random_file(tmp_path / "killed.bin", 4 * CHUNK + 77)
    stall_at = 2 * CHUNK + CHUNK // 2
    options = {
        "file": str(path),
        "endpoint": site.endpoint,
        "headers": site.headers(),
        "chunkSize": CHUNK,
        "metadata": {"filename": path.name},
    }
    proc = jsclient.spawn(tus_js, {**options, "stallAt": stall_at})
    try:
        events = jsclient.read_until(proc, "stalled")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    url = jsclient.last(events, "url")["url"]
    assert jsclient.patch_offsets(events) == [0, CHUNK, 2 * CHUNK]

    # The server notices the dead connection and keeps the bytes that arrived.
    wait_until(lambda: site.offset(url) > 2 * CHUNK, 15, "the partial chunk is kept")
    offset = site.offset(url)
    assert 2 * CHUNK < offset <= stall_at

    events = jsclient.run(tus_js, {**options, "uploadUrl": url, "retryDelays": [200, 500, 1000]})
    assert jsclient.last(events, "success")["url"] == url
    offsets = jsclient.patch_offsets(events)
    assert offsets[0] == offset  # not started over
    record = site.record(upload_id(url))
    assert record["sha256"] == file_sha256(path)
    assert site.content(upload_id(url)) == path.read_bytes()


def test_server_restarted_between_chunks(site: Site, tmp_path: Path) -> None:
    """A graceful restart (SIGTERM) of the server (the upload service in the split shape)
    between two chunks: a new uploader goes on from the offset."""
    path = random_file(tmp_path / "restart.bin", 5 * CHUNK + 3)
    client_ = TusClient(site.endpoint, headers=site.headers())
    first = client_.uploader(
        file_path=str(path), chunk_size=CHUNK, metadata={"filename": "restart.bin"}
    )
    for _ in range(2):
        first.upload_chunk()
    url = first.url
    assert url is not None

    site.upload_process.stop()
    site.upload_process.start()

    second = client_.uploader(file_path=str(path), url=url, chunk_size=CHUNK, upload_checksum=True)
    assert second.offset == 2 * CHUNK
    second.upload()
    assert second.offset == path.stat().st_size
    assert site.record(upload_id(url))["sha256"] == file_sha256(path)


def _slow_body(data: bytes, piece: int, pause: float, sent: list[int]) -> Iterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
        sent.append(start + piece)
        time.sleep(pause)


def test_server_killed_mid_patch(site: Site) -> None:
    """SIGKILL while a PATCH streams in: after the restart the offset is where the last
    acknowledged PATCH left it (never ahead of it); the dead request's lease runs out within
    LEASE_SECONDS (423 until then), and the upload goes on."""
    data = os.urandom(6 * CHUNK)
    url = site.create(len(data))
    assert site.patch(url, 0, data[:CHUNK]).status_code == 204
    sent: list[int] = []
    failure: list[BaseException] = []

    def slow_patch() -> None:
        headers = site.tus(**{"Upload-Offset": str(CHUNK), "Content-Type": OFFSET_TYPE})
        try:
            with httpx.Client(timeout=30) as c:
                c.patch(
                    url, headers=headers, content=_slow_body(data[CHUNK:], 64 * 1024, 0.05, sent)
                )
        except httpx.HTTPError as exc:
            failure.append(exc)

    thread = threading.Thread(target=slow_patch)
    thread.start()
    try:
        wait_until(lambda: len(sent) >= 12, 20, "the PATCH is under way")
        site.upload_process.kill()
    finally:
        thread.join(30)
    assert failure, "the PATCH should have been cut off"
    site.upload_process.start()

    assert site.offset(url) == CHUNK
    answers: list[int] = []

    def resumed() -> bool:
        answers.append(site.patch(url, CHUNK, data[CHUNK:]).status_code)
        return answers[-1] != 423

    wait_until(resumed, LEASE_SECONDS + 5, "the dead request's lease runs out", interval=0.5)
    assert answers[-1] == 204, answers
    assert site.record(upload_id(url))["sha256"] == sha256(data)


@pytest.mark.parametrize("site", ["split"], indirect=True)
def test_two_upload_processes(site: Site) -> None:
    """Split shape, scaled out: create through one upload process, PATCH through the other,
    HEAD through either; no state lives in a process."""
    other = extra_process(site)
    try:
        one, two = site.deployment.upload, other.url
        data = os.urandom(3 * CHUNK + 11)
        url_one = site.create(len(data), metadata={"filename": "two.bin"}, base=one)
        file_id = upload_id(url_one)
        url_two = site.url(file_id, base=two)
        assert site.patch(url_two, 0, data[:CHUNK]).status_code == 204
        assert site.offset(url_one) == CHUNK
        assert site.offset(url_two) == CHUNK
        assert site.patch(url_one, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 204
        # The other process sees the new offset: a stale one is refused.
        assert site.patch(url_two, CHUNK, data[CHUNK : 2 * CHUNK]).status_code == 409
        assert site.patch(url_two, 2 * CHUNK, data[2 * CHUNK :]).status_code == 204
        for url in (url_one, url_two):
            r = site.head(url)
            assert (r.headers["Upload-Offset"], r.headers["Upload-Length"]) == (
                str(len(data)),
                str(len(data)),
            )
        record = site.record(file_id)
        assert (record["sha256"], record["name"]) == (sha256(data), "two.bin")
        # Termination through one is seen by the other.
        url_three = site.create(10, base=two)
        with client() as c:
            assert c.delete(site.url(url_three, base=one), headers=site.tus()).status_code == 204
        assert site.head(url_three).status_code == 404
    finally:
        other.stop()
    with contextlib.suppress(OSError):
        assert "Traceback" not in other.log()
