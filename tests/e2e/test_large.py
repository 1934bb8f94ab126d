"""1 GiB through the all-in-one server, streamed both ways and hashed end to end."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.api.support import Part, own_deployment, temp_files
from tests.harness.servers import Deployment, assert_no_crashes

MIB = 1024 * 1024
GIB = 1024 * MIB
CHUNK = MIB
# Design §7 (a benchmark there): the server's peak RSS stays within 100 MiB of idle.
RSS_SLACK = 100 * MIB
BOUNDARY = "large-upload-boundary"

pytestmark = pytest.mark.slow


class Generated:
    """``size`` bytes made on the fly (never held whole), hashed while they are produced."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.sha256 = hashlib.sha256()
        self._block = random.Random(seed).randbytes(CHUNK)

    def chunks(self) -> Iterator[bytes]:
        sent = 0
        index = 0
        while sent < self.size:
            # A counter in every chunk: no two chunks are alike, so a misplaced one shows.
            chunk = index.to_bytes(8, "big") + self._block[8:]
            chunk = chunk[: self.size - sent]
            self.sha256.update(chunk)
            sent += len(chunk)
            index += 1
            yield chunk


def peak_rss(dep: Deployment) -> int:
    proc = dep.processes["all"].proc
    assert proc is not None
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def download_sha256(http: httpx.Client, url: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with http.stream("GET", url) as r:
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == GIB
        for chunk in r.iter_raw(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("large")
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(2 * GIB)}
    with own_deployment("all", root / "data", env) as dep:
        yield dep


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(300, connect=10)) as c:
        yield c


def check_round_trip(dep: Deployment, http: httpx.Client, record: dict, gen: Generated) -> None:
    assert record["size"] == GIB
    assert record["sha256"] == gen.sha256.hexdigest()
    url = f"{dep.download}/api/files/{record['id']}/content"
    digest, size = download_sha256(http, url)
    assert size == GIB
    assert digest == gen.sha256.hexdigest()
    tail = http.get(url, headers={"Range": "bytes=-16"})
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {GIB - 16}-{GIB - 1}/{GIB}"
    assert temp_files(dep.data_dir) == []
    # Free the disk for the next test.
    assert http.delete(f"{dep.metadata}/api/files/{record['id']}").status_code == 204


def test_1gib_raw_put_round_trips_with_the_same_sha256(big: Deployment, http: httpx.Client) -> None:
    idle = peak_rss(big)
    gen = Generated(GIB, seed=1)
    r = http.put(
        f"{big.upload}/api/upload/one-gib.bin",
        content=gen.chunks(),
        headers={"Content-Length": str(GIB), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    check_round_trip(big, http, r.json(), gen)
    assert peak_rss(big) - idle < RSS_SLACK, f"peak RSS grew by {(peak_rss(big) - idle) >> 20} MiB"
    assert_no_crashes(big)


def test_1gib_multipart_round_trips_with_the_same_sha256(
    big: Deployment, http: httpx.Client
) -> None:
    idle = peak_rss(big)
    gen = Generated(GIB, seed=2)
    head = Part("file", b"", filename=b"one-gib-multipart.bin").head(BOUNDARY)
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from gen.chunks()
        yield tail

    r = http.post(
        f"{big.upload}/api/files",
        content=body(),
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + GIB + len(tail)),
        },
    )
    assert r.status_code == 201, r.text
    (record,) = r.json()["files"]
    assert record["name"] == "one-gib-multipart.bin"
    check_round_trip(big, http, record, gen)
    assert peak_rss(big) - idle < RSS_SLACK, f"peak RSS grew by {(peak_rss(big) - idle) >> 20} MiB"
    assert_no_crashes(big)
