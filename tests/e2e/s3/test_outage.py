"""The S3 server gone (503 quickly, /readyz says why: moto, stopped and started again), and
`filebay fsck` on a bucket of a real S3 server (SeaweedFS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from filebay.ids import new_id
from tests.e2e.s3.moto import (
    AWS_ENV,
    MIB,
    moto_server,
    multipart_uploads,
    new_bucket,
    object_keys,
    s3_client,
    s3_env,
)
from tests.e2e.s3.support import client, tus_create, tus_patch
from tests.harness.http import timed
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import running

QUICK = 5.0  # seconds: "503 within a few seconds", never a hang


def test_s3_unreachable_answers_503_quickly_and_readyz_says_why(tmp_path: Path) -> None:
    bucket = new_bucket()
    with (
        moto_server(tmp_path / "moto.log") as moto,
        running("all", tmp_path / "data", s3_env(moto.url, bucket)) as dep,
        client() as http,
    ):
        base = dep.upload
        stored = http.put(f"{base}/api/upload/before.txt", content=b"stored before")
        assert stored.status_code == 201
        content = f"{base}/api/files/{stored.json()['id']}/content"
        tus = tus_create(http, base, "resumable.bin", 10 * MIB)

        # The deployment identity, which the moto restart below loses with the rest (a real
        # bucket keeps it: a bucket that comes back empty is not this deployment's, /readyz
        # would rightly say so).
        s3 = s3_client(moto.url)
        identity = s3.get_object(Bucket=bucket, Key=".filebay/deployment")["Body"].read()
        moto.stop()

        calls = {
            "put": lambda: http.put(f"{base}/api/upload/during.txt", content=b"x" * 300_000),
            "put_large": lambda: http.put(f"{base}/api/upload/big", content=os.urandom(6 * MIB)),
            "post": lambda: http.post(f"{base}/api/files", files=[("file", ("f.txt", b"y"))]),
            "content": lambda: http.get(content),
            "range": lambda: http.get(content, headers={"Range": "bytes=0-3"}),
            "tus_create": lambda: http.post(
                f"{base}/api/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"}
            ),
            "tus_patch": lambda: tus_patch(http, tus, 0, b"z" * 1000),
        }
        for name, call in calls.items():
            answer, took = timed(call)
            assert answer.status_code == 503, (name, answer.status_code, answer.text)
            assert took < QUICK, (name, took)
        ready, took = timed(lambda: http.get(f"{base}/readyz"))
        assert ready.status_code == 503 and took < QUICK
        checks = ready.json()["checks"]
        assert checks["catalog"] == "ok"
        assert "unreachable" in checks["blob_store"]
        assert http.get(f"{base}/healthz").status_code == 200
        # Metadata does not need the bucket.
        assert http.get(f"{base}/api/files").status_code == 200

        # Back (moto keeps nothing: make the bucket again): the same process recovers.
        moto.start()
        s3 = s3_client(moto.url)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=".filebay/deployment", Body=identity)
        assert http.get(f"{base}/readyz").status_code == 200
        again = http.put(f"{base}/api/upload/after.txt", content=b"stored after")
        assert again.status_code == 201
        assert http.get(f"{base}/api/files/{again.json()['id']}/content").content == b"stored after"
        log = dep.processes["all"].log()
        assert "Traceback" not in log, log


def fsck(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "filebay_server", "fsck", "--data-dir", str(data_dir),
         "--grace-seconds", "0", *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env, "COLUMNS": "250"},
    )  # fmt: skip


def test_fsck_finds_orphans_and_aborts_stale_multipart_uploads(
    tmp_path: Path, seaweed: SeaweedServer
) -> None:
    bucket = new_bucket()
    env = {**s3_env(seaweed.url, bucket), **AWS_ENV, "FILEBAY_AUTH": "off"}
    data_dir = tmp_path / "data"
    s3 = s3_client(seaweed.url)
    with running("all", data_dir, env) as dep, client() as http:
        kept = http.put(f"{dep.upload}/api/upload/kept.txt", content=b"kept").json()["id"]
        # A tus upload in progress is not a leftover: its session is in the catalog.
        tus = tus_create(http, dep.upload, "resumable.bin", 12 * MIB)
        assert tus_patch(http, tus, 0, os.urandom(6 * MIB)).status_code == 204
    # What a crashed upload leaves: a blob without a record, an unfinished multipart upload.
    orphan = new_id()
    s3.put_object(Bucket=bucket, Key=f"blobs/{orphan}", Body=b"nobody's")
    stale = new_id()
    upload = s3.create_multipart_upload(Bucket=bucket, Key=f"blobs/{stale}")
    s3.upload_part(
        Bucket=bucket, Key=f"blobs/{stale}", UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    assert len(multipart_uploads(s3, bucket)) == 2  # the stale one and the tus upload's

    report = fsck(data_dir, env)
    assert report.returncode == 1, report.stdout + report.stderr
    assert "orphan_blob" in report.stdout and orphan in report.stdout
    assert "stale_temp" in report.stdout
    assert f"blobs/{orphan}" in object_keys(s3, bucket, "blobs/")  # only reported

    repaired = fsck(data_dir, env, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert object_keys(s3, bucket, "blobs/") == [f"blobs/{kept}"]
    tus_id = tus.rstrip("/").rsplit("/", 1)[-1]
    assert multipart_uploads(s3, bucket) == [f"blobs/{tus_id}"]  # the live tus upload stays

    clean = fsck(data_dir, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
