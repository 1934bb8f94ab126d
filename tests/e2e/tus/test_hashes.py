"""The SHA-256 and CRC-32 of a tus upload are computed on the way in, across PATCHes, and
stay right when a PATCH lands in a process that did not see the bytes before it: after a
restart, or on another upload replica. Local staging and S3 (SeaweedFS), both shapes."""

from __future__ import annotations

import contextlib
import itertools
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.s3.moto import MIB, new_bucket, s3_env
from tests.e2e.s3.support import client, sha256, tus_create, tus_offset, tus_patch
from tests.harness.database import fresh_database, rows
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import (
    CRASH_MARKERS,
    Deployment,
    ServerProcess,
    free_port,
    running,
)

PART = 5 * MIB  # S3's smallest part: uploads below cross part boundaries


@dataclass
class Where:
    deployment: Deployment
    database_url: str | None

    def crc32(self, file_id: str) -> int | None:
        """The CRC-32 the catalog recorded for ``file_id``."""
        found = [
            row["crc32"]
            for row in rows(self.deployment.data_dir, self.database_url, "files")
            if row["id"] == file_id
        ]
        assert len(found) == 1, found
        return found[0]

    def crashes(self) -> str:
        logs = [proc.log() for proc in self.deployment.processes.values()]
        return "\n".join(log for log in logs if any(m in log for m in CRASH_MARKERS))


@pytest.fixture(
    scope="module",
    params=[("all", "local"), ("split", "local"), ("all", "s3"), ("split", "s3")],
    ids=lambda p: "-".join(p),
)
def where(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Where]:
    shape, storage = request.param
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(64 * MIB)}
    if storage == "s3":
        seaweed: SeaweedServer = request.getfixturevalue("seaweed")
        env.update(s3_env(seaweed.url, new_bucket(), PART))
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database("filebay_tus_hashes"))
            env["FILEBAY_DATABASE_URL"] = database_url
        data_dir = tmp_path_factory.mktemp(f"tus-hashes-{shape}-{storage}")
        where = Where(stack.enter_context(running(shape, data_dir, env)), database_url)
        yield where
        assert not where.crashes(), where.crashes()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client(timeout=60) as c:
        yield c


def _stored(where: Where, http: httpx.Client, url: str, data: bytes) -> None:
    """The record carries the SHA-256 and CRC-32 of ``data``, and the bytes are ``data``."""
    file_id = url.rstrip("/").rsplit("/", 1)[-1]
    record = http.get(f"{where.deployment.metadata}/api/files/{file_id}")
    assert record.status_code == 200, record.text
    assert (record.json()["size"], record.json()["sha256"]) == (len(data), sha256(data))
    assert where.crc32(file_id) == zlib.crc32(data)
    content = http.get(f"{where.deployment.download}/api/files/{file_id}/content")
    assert content.content == data


def test_hashed_across_patches(where: Where, http: httpx.Client) -> None:
    data = os.urandom(PART + MIB + 7)
    url = tus_create(http, where.deployment.upload, "across.bin", len(data))
    cuts = [0, 100_000, PART - 1, PART + 3, len(data)]
    for start, end in itertools.pairwise(cuts):
        assert tus_patch(http, url, start, data[start:end]).status_code == 204
    _stored(where, http, url, data)


def test_restart_between_patches(where: Where, http: httpx.Client) -> None:
    data = os.urandom(PART + 2 * MIB + 1)
    url = tus_create(http, where.deployment.upload, "restart.bin", len(data))
    assert tus_patch(http, url, 0, data[: 3 * MIB]).status_code == 204
    upload = where.deployment.process("upload")
    upload.stop()
    upload.start()
    assert tus_offset(http, url) == 3 * MIB
    assert tus_patch(http, url, 3 * MIB, data[3 * MIB : PART + MIB]).status_code == 204
    assert tus_patch(http, url, PART + MIB, data[PART + MIB :]).status_code == 204
    _stored(where, http, url, data)


@contextlib.contextmanager
def _replica(deployment: Deployment) -> Iterator[ServerProcess]:
    """Another upload process of a split deployment (same settings, its own port)."""
    base = deployment.processes["upload"]
    port = free_port()
    log = base.data_dir / f"upload-{port}.log"
    other = ServerProcess("upload", port, base.data_dir, dict(base.env), log).start()
    try:
        yield other
    finally:
        other.stop()
        assert not any(m in other.log() for m in CRASH_MARKERS), other.log()


@pytest.mark.parametrize(
    "where", [("split", "local"), ("split", "s3")], ids=lambda p: "-".join(p), indirect=True
)
def test_two_replicas_take_turns(where: Where, http: httpx.Client) -> None:
    data = os.urandom(PART + 3 * MIB + 5)
    with _replica(where.deployment) as other:
        one = tus_create(http, where.deployment.upload, "turns.bin", len(data))
        two = other.url + one.removeprefix(where.deployment.upload)
        cuts = [0, MIB, 2 * MIB, PART + MIB, PART + 2 * MIB, len(data)]
        for turn, (start, end) in enumerate(itertools.pairwise(cuts)):
            url = (one, two)[turn % 2]
            assert tus_patch(http, url, start, data[start:end]).status_code == 204
    _stored(where, http, one, data)
