"""Scale-out: two upload and two download replicas, one auth and one metadata service, on
PostgreSQL and a real S3 server (SeaweedFS). Each process has a data dir of its own: nothing
is shared but the database, the bucket and the configured secrets, as behind a load
balancer."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from tests.e2e.s3.moto import MIB, multipart_uploads, new_bucket, object_keys, s3_client
from tests.e2e.s3.moto import s3_env as make_s3_env
from tests.e2e.s3.support import client, sha256, tus_create, tus_offset, tus_patch
from tests.harness.database import fresh_database
from tests.harness.http import api_login, bearer, timed
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import CRASH_MARKERS, ServerProcess, free_port, start_side_by_side

ADMIN_PASSWORD = "scale-out-admin-password-0123"
QUICK = 5.0  # seconds: "503 within a few seconds"


@dataclass
class Cluster:
    procs: dict[str, ServerProcess]
    bucket: str
    s3: object
    token: str = ""
    offsets: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.procs[name].url

    def auth_headers(self) -> dict[str, str]:
        return bearer(self.token)

    def blob_keys(self) -> set[str]:
        return {k.rsplit("/", 1)[-1] for k in object_keys(self.s3, self.bucket, "blobs/")}

    def crashes(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{proc.log()}"
            for name, proc in self.procs.items()
            if any(marker in proc.log() for marker in CRASH_MARKERS)
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, seaweed: SeaweedServer) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("scale-out")
    names = ["auth", "metadata", "upload-a", "upload-b", "download-a", "download-b"]
    ports = {name: free_port() for name in names}
    bucket = new_bucket()
    with contextlib.ExitStack() as stack:
        env = {
            **make_s3_env(seaweed.url, bucket),
            "FILEBAY_DATABASE_URL": stack.enter_context(fresh_database("filebay_scale")),
            "FILEBAY_AUTH": "on",
            "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "FILEBAY_SERVICE_TOKEN": "scale-out-service-token-0123456789abcdef",
            # What browsers use (behind a load balancer), and how the services reach each
            # other: only the internal URLs work here, so the services must use those.
            "FILEBAY_METADATA_URL": "http://files.invalid:8002",
            "FILEBAY_AUTH_URL": "http://files.invalid:8004",
            "FILEBAY_METADATA_INTERNAL_URL": f"http://127.0.0.1:{ports['metadata']}",
            "FILEBAY_AUTH_INTERNAL_URL": f"http://127.0.0.1:{ports['auth']}",
            "FILEBAY_LOG_LEVEL": "warning",
            "FILEBAY_MAX_UPLOAD_BYTES": str(64 * MIB),
        }
        procs: dict[str, ServerProcess] = {}
        stack.callback(lambda: [proc.stop() for proc in procs.values()])
        for name in names:
            service = name.split("-")[0]
            data_dir = root / name  # nothing on disk is shared between the processes
            data_dir.mkdir()
            procs[name] = ServerProcess(service, ports[name], data_dir, env, root / f"{name}.log")
        # auth and metadata first (they migrate the database); the replicas side by side
        start_side_by_side(list(procs.values()), first=("auth", "metadata"))
        cluster = Cluster(procs, bucket, s3_client(seaweed.url))
        cluster.token = api_login(cluster.url("auth"), "admin", ADMIN_PASSWORD)
        yield cluster
        assert not cluster.crashes(), cluster.crashes()


@pytest.fixture
def http(cluster: Cluster) -> Iterator[httpx.Client]:
    with client() as c:
        c.headers.update(cluster.auth_headers())
        yield c


def test_upload_through_one_replica_download_from_both(cluster: Cluster, http: httpx.Client):
    data = os.urandom(6 * MIB + 1)
    answer = http.put(f"{cluster.url('upload-a')}/api/upload/shared.bin", content=data)
    assert answer.status_code == 201, answer.text
    file_id = answer.json()["id"]
    for name in ("download-a", "download-b"):
        got = http.get(f"{cluster.url(name)}/api/files/{file_id}/content")
        assert (got.status_code, sha256(got.content)) == (200, sha256(data)), name
        span = http.get(
            f"{cluster.url(name)}/api/files/{file_id}/content", headers={"Range": "bytes=10-19"}
        )
        assert (span.status_code, span.content) == (206, data[10:20])
    listed = http.get(f"{cluster.url('metadata')}/api/files", params={"q": "shared.bin"})
    assert [item["id"] for item in listed.json()["items"]] == [file_id]


def test_tus_upload_created_on_a_finished_on_b(cluster: Cluster, http: httpx.Client) -> None:
    data = os.urandom(7 * MIB + 99)
    url_a = tus_create(http, cluster.url("upload-a"), "moved.bin", len(data))
    path = url_a.removeprefix(cluster.url("upload-a"))
    url_b = f"{cluster.url('upload-b')}{path}"
    assert tus_patch(http, url_a, 0, data[:MIB]).status_code == 204
    assert tus_offset(http, url_b) == MIB  # B knows what A stored
    assert tus_patch(http, url_b, MIB, data[MIB : 2 * MIB]).status_code == 204
    assert tus_patch(http, url_a, 2 * MIB, data[2 * MIB : 3 * MIB]).status_code == 204
    done = tus_patch(http, url_b, 3 * MIB, data[3 * MIB :])  # crosses a part on B
    assert done.status_code == 204, done.text
    file_id = path.rstrip("/").rsplit("/", 1)[-1]
    for name in ("download-a", "download-b"):
        got = http.get(f"{cluster.url(name)}/api/files/{file_id}/content")
        assert got.content == data, name
    assert object_keys(cluster.s3, cluster.bucket, "staging/") == []


def _download(url: str, headers: dict[str, str]) -> tuple[int, bytes]:
    with httpx.Client(timeout=30, headers=headers) as http:
        answer = http.get(url)  # a body cut short raises here: that would be "half"
        return answer.status_code, answer.content


def test_a_delete_racing_downloads_never_serves_half_a_file(
    cluster: Cluster, http: httpx.Client
) -> None:
    data = os.urandom(4 * MIB)
    outcomes: list[tuple[int, bytes]] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for round_ in range(4):
            file_id = http.put(
                f"{cluster.url('upload-b')}/api/upload/race-{round_}.bin", content=data
            ).json()["id"]
            urls = [
                f"{cluster.url(name)}/api/files/{file_id}/content"
                for name in ("download-a", "download-b") * 3
            ]
            start = threading.Event()

            def go(url: str, start: threading.Event = start) -> tuple[int, bytes]:
                start.wait()
                return _download(url, cluster.auth_headers())

            futures = [pool.submit(go, url) for url in urls]
            start.set()
            # permanent: the bytes go now (a plain DELETE moves the file to the trash)
            deleted = http.delete(
                f"{cluster.url('metadata')}/api/files/{file_id}", params={"permanent": "true"}
            )
            assert deleted.status_code == 204
            outcomes += [f.result() for f in futures]
            assert file_id not in cluster.blob_keys()
    for status, body in outcomes:
        assert status in (200, 404), status
        if status == 200:
            assert body == data
    assert {status for status, _ in outcomes} <= {200, 404}


def test_two_renames_racing_end_with_one_of_the_names(cluster: Cluster, http: httpx.Client) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(5):
            file_id = http.put(
                f"{cluster.url('upload-a')}/api/upload/before-{round_}.txt", content=b"x"
            ).json()["id"]
            url = f"{cluster.url('metadata')}/api/files/{file_id}"
            names = [f"left-{round_}.txt", f"right-{round_}.txt"]
            start = threading.Event()

            def rename(name: str, url: str = url, start: threading.Event = start) -> int:
                start.wait()
                with httpx.Client(timeout=30, headers=cluster.auth_headers()) as own:
                    return own.patch(url, json={"name": name}).status_code

            futures = [pool.submit(rename, name) for name in names]
            start.set()
            assert [f.result() for f in futures] == [200, 200]
            final = http.get(url).json()["name"]
            assert final in names
            got = http.get(f"{cluster.url('download-b')}/api/files/{file_id}/content")
            assert f'filename="{final}"' in got.headers["content-disposition"]


def test_metadata_down_answers_503_quickly_leaves_no_blob_and_recovers(
    cluster: Cluster, http: httpx.Client
) -> None:
    stored = http.put(f"{cluster.url('upload-a')}/api/upload/before.txt", content=b"before")
    file_id = stored.json()["id"]
    content_a = f"{cluster.url('download-a')}/api/files/{file_id}/content"
    tus = tus_create(http, cluster.url("upload-b"), "across-the-outage.bin", 6 * MIB)
    assert tus_patch(http, tus, 0, b"a" * MIB).status_code == 204
    # Every replica has checked the bearer token recently (the answer is remembered), so the
    # requests below get past authentication and reach the blob store and the catalog.
    tus_path = tus.removeprefix(cluster.url("upload-b"))
    for name in ("upload-a", "upload-b"):
        assert tus_offset(http, f"{cluster.url(name)}{tus_path}") == MIB
    for name in ("download-a", "download-b"):
        assert http.get(f"{cluster.url(name)}/api/files/{file_id}/content").content == b"before"
    blobs_before = cluster.blob_keys()
    uploads_before = multipart_uploads(cluster.s3, cluster.bucket)

    cluster.procs["metadata"].stop()
    calls: dict[str, Callable[[], httpx.Response]] = {
        "put_a": lambda: http.put(
            f"{cluster.url('upload-a')}/api/upload/during.bin", content=os.urandom(300_000)
        ),
        "put_b_multipart": lambda: http.put(
            f"{cluster.url('upload-b')}/api/upload/big.bin", content=os.urandom(6 * MIB)
        ),
        "post_b": lambda: http.post(
            f"{cluster.url('upload-b')}/api/files", files=[("file", ("f.txt", b"form"))]
        ),
        "download_a": lambda: http.get(content_a),
        "download_b": lambda: http.get(
            f"{cluster.url('download-b')}/api/files/{file_id}/content",
            headers={"Range": "bytes=0-1"},
        ),
        "tus_create": lambda: http.post(
            f"{cluster.url('upload-a')}/api/tus/",
            headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"},
        ),
        "tus_patch": lambda: tus_patch(http, tus, MIB, b"b" * MIB),
    }
    for name, call in calls.items():
        answer, took = timed(call)
        assert answer.status_code == 503, (name, answer.status_code, answer.text)
        assert took < QUICK, (name, took)
    for name in ("upload-a", "download-b"):
        ready = http.get(f"{cluster.url(name)}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["blob_store"] == "ok"
        assert http.get(f"{cluster.url(name)}/healthz").status_code == 200
    assert cluster.blob_keys() == blobs_before  # no blob left behind
    assert multipart_uploads(cluster.s3, cluster.bucket) == uploads_before

    cluster.procs["metadata"].start()
    again = http.put(f"{cluster.url('upload-b')}/api/upload/after.txt", content=b"after")
    assert again.status_code == 201
    assert http.get(content_a).content == b"before"
    assert tus_offset(http, tus) == MIB  # the failed PATCH advanced nothing
    assert tus_patch(http, tus, MIB, b"b" * (5 * MIB)).status_code == 204
    upload_id = tus.rstrip("/").rsplit("/", 1)[-1]
    got = http.get(f"{cluster.url('download-b')}/api/files/{upload_id}/content")
    assert got.content == b"a" * MIB + b"b" * (5 * MIB)
