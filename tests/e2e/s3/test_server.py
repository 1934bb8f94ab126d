"""filebay with FILEBAY_STORAGE=s3 on a real S3 server (SeaweedFS), all in one process and
split in four, over real HTTP: uploads, downloads with Range, tus uploads in PATCHes below
S3's 5 MiB part minimum and resumed after a PATCH the client abandoned."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.s3.moto import MIB, S3Server, multipart_uploads, new_bucket, object_keys, s3_client
from tests.e2e.s3.moto import s3_env as make_s3_env
from tests.e2e.s3.support import (
    OFFSET_TYPE,
    TUS,
    client,
    sha1_checksum,
    sha256,
    tus_create,
    tus_offset,
    tus_patch,
)
from tests.e2e.tus.support import patch_and_vanish
from tests.harness.database import fresh_database
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import CRASH_MARKERS, Deployment, running
from tests.harness.waiting import wait_until

PART = 5 * MIB


class S3Site:
    def __init__(self, deployment: Deployment, server: S3Server, bucket: str) -> None:
        self.dep = deployment
        self.bucket = bucket
        self.s3 = s3_client(server.url)

    def blob_keys(self) -> list[str]:
        return [k.rsplit("/", 1)[-1] for k in object_keys(self.s3, self.bucket, "blobs/")]

    def leftovers(self) -> dict[str, Any]:
        return {
            "multipart": multipart_uploads(self.s3, self.bucket),
            "staging": object_keys(self.s3, self.bucket, "staging/"),
        }

    def crashes(self) -> str:
        return "\n".join(
            proc.log()
            for proc in self.dep.processes.values()
            if any(marker in proc.log() for marker in CRASH_MARKERS)
        )


@pytest.fixture(scope="module", params=["all", "split"])
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seaweed: SeaweedServer,
) -> Iterator[S3Site]:
    shape: str = request.param
    bucket = new_bucket()
    env = {**make_s3_env(seaweed.url, bucket, PART), "FILEBAY_MAX_UPLOAD_BYTES": str(64 * MIB)}
    with contextlib.ExitStack() as stack:
        if shape == "split":
            env["FILEBAY_DATABASE_URL"] = stack.enter_context(fresh_database("filebay_s3"))
        data_dir: Path = tmp_path_factory.mktemp(f"s3-{shape}")
        site = S3Site(stack.enter_context(running(shape, data_dir, env)), seaweed, bucket)
        yield site
        assert not site.crashes(), site.crashes()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with client() as c:
        yield c


def test_upload_and_download_with_ranges(site: S3Site, http: httpx.Client) -> None:
    data = os.urandom(2 * PART + 4321)  # a multipart upload of three parts
    answer = http.put(f"{site.dep.upload}/api/upload/big.bin", content=data)
    assert answer.status_code == 201, answer.text
    record = answer.json()
    assert (record["size"], record["sha256"]) == (len(data), sha256(data))
    assert record["id"] in site.blob_keys()
    content = f"{site.dep.download}/api/files/{record['id']}/content"

    whole = http.get(content)
    assert whole.status_code == 200
    assert whole.content == data
    assert whole.headers["etag"] == f'"{sha256(data)}"'
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["accept-ranges"] == "bytes"

    span = http.get(content, headers={"Range": f"bytes={PART - 10}-{PART + 9}"})
    assert span.status_code == 206
    assert span.content == data[PART - 10 : PART + 10]
    assert span.headers["content-range"] == f"bytes {PART - 10}-{PART + 9}/{len(data)}"
    suffix = http.get(content, headers={"Range": "bytes=-100"})
    assert (suffix.status_code, suffix.content) == (206, data[-100:])
    unsatisfiable = http.get(content, headers={"Range": f"bytes={len(data)}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{len(data)}"
    head = http.head(content)
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    cached = http.get(content, headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304
    assert site.leftovers()["multipart"] == []


def test_multipart_form_with_small_files_and_one_over_a_part(
    site: S3Site, http: httpx.Client
) -> None:
    big = os.urandom(2 * PART + 54321)
    files = [
        ("file", ("a.txt", b"alpha")),
        ("file", ("empty.txt", b"")),
        ("file", ("big.bin", big)),
        ("file", ("c", b"c")),
    ]
    answer = http.post(f"{site.dep.upload}/api/files", files=files)
    assert answer.status_code == 201, answer.text
    for record, (_field, (_name, body)) in zip(answer.json()["files"], files, strict=True):
        assert record["sha256"] == sha256(body)
        got = http.get(f"{site.dep.download}/api/files/{record['id']}/content")
        assert (got.status_code, got.content) == (200, body)
    assert site.leftovers()["multipart"] == []


def test_delete_removes_the_object(site: S3Site, http: httpx.Client) -> None:
    record = http.put(f"{site.dep.upload}/api/upload/gone.txt", content=b"bye").json()
    assert record["id"] in site.blob_keys()
    assert (
        http.delete(f"{site.dep.metadata}/api/files/{record['id']}?permanent=true").status_code
        == 204
    )
    assert record["id"] not in site.blob_keys()
    assert http.get(f"{site.dep.download}/api/files/{record['id']}/content").status_code == 404


def test_tus_upload_in_patches_below_and_above_the_part_size(
    site: S3Site, http: httpx.Client
) -> None:
    data = os.urandom(3 * PART + 777)
    url = tus_create(http, site.dep.upload, "resumable.bin", len(data))
    cuts = [300_000, MIB, 7 * MIB, 7 * MIB + 65536, 9 * MIB, 12 * MIB, len(data)]
    offset = 0
    for cut in cuts:
        chunk = data[offset:cut]
        answer = tus_patch(http, url, offset, chunk)
        assert answer.status_code == 204, answer.text
        offset = int(answer.headers["Upload-Offset"])
        assert offset == cut
        if offset < len(data):
            assert tus_offset(http, url) == offset  # what another replica would see
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    record = http.get(f"{site.dep.metadata}/api/files/{upload_id}").json()
    assert (record["size"], record["sha256"], record["name"]) == (
        len(data),
        sha256(data),
        "resumable.bin",
    )
    got = http.get(f"{site.dep.download}/api/files/{upload_id}/content")
    assert got.content == data
    assert site.leftovers() == {"multipart": [], "staging": []}


def test_tus_resumes_after_a_patch_the_client_abandoned(site: S3Site, http: httpx.Client) -> None:
    """The client vanishes in the middle of a PATCH, after more than a part went out: what
    arrived is kept in the bucket, and the upload finishes from the offset HEAD reports."""
    data = os.urandom(2 * PART + 999)
    url = tus_create(http, site.dep.upload, "abandoned.bin", len(data))
    assert tus_patch(http, url, 0, data[:MIB]).status_code == 204
    headers = {"Tus-Resumable": TUS, "Upload-Offset": str(MIB), "Content-Type": OFFSET_TYPE}
    sent = data[MIB : MIB + PART + MIB]
    patch_and_vanish(url, headers, len(data) - MIB, sent, linger=1.0)

    def released() -> bool:  # a PATCH at a wrong offset: 423 while the dead one holds it
        answer = tus_patch(http, url, len(data), b"x")
        assert answer.status_code in (409, 423), answer.status_code
        return answer.status_code == 409

    wait_until(released, 30, "the abandoned PATCH releases the upload")
    offset = tus_offset(http, url)
    assert MIB < offset <= MIB + len(sent)
    answer = tus_patch(http, url, offset, data[offset:])
    assert answer.status_code == 204, answer.text
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    record = http.get(f"{site.dep.metadata}/api/files/{upload_id}").json()
    assert (record["size"], record["sha256"]) == (len(data), sha256(data))
    assert http.get(f"{site.dep.download}/api/files/{upload_id}/content").content == data
    assert site.leftovers() == {"multipart": [], "staging": []}


def test_tus_chunk_with_a_bad_checksum_is_dropped(site: S3Site, http: httpx.Client) -> None:
    data = os.urandom(PART + 1000)
    url = tus_create(http, site.dep.upload, "checked.bin", len(data))
    assert tus_patch(http, url, 0, data[:MIB], sha1_checksum(data[:MIB])).status_code == 204
    bad = tus_patch(http, url, MIB, data[MIB:], sha1_checksum(b"something else"))
    assert bad.status_code == 460
    assert tus_offset(http, url) == MIB
    rest = data[MIB:]
    assert tus_patch(http, url, MIB, rest, sha1_checksum(rest)).status_code == 204
    upload_id = url.rstrip("/").rsplit("/", 1)[-1]
    assert http.get(f"{site.dep.download}/api/files/{upload_id}/content").content == data


def test_tus_termination_aborts_the_multipart_upload(site: S3Site, http: httpx.Client) -> None:
    url = tus_create(http, site.dep.upload, "dropped.bin", 4 * PART)
    assert tus_patch(http, url, 0, os.urandom(PART + 5)).status_code == 204
    assert site.leftovers()["multipart"] != []
    assert http.delete(url, headers={"Tus-Resumable": TUS}).status_code == 204
    assert site.leftovers() == {"multipart": [], "staging": []}


def test_readyz_checks_the_bucket(site: S3Site, http: httpx.Client) -> None:
    for base in {site.dep.upload, site.dep.download, site.dep.metadata}:
        ready = http.get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["blob_store"] == "ok"
