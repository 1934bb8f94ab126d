"""Zip downloads with FILEBAY_STORAGE=s3 on a real S3 server (SeaweedFS), in both shapes:
ranges anywhere read only the objects they cover, and every reader accepts the archive."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.folders.support import ENV, Tree
from tests.e2e.s3.moto import new_bucket, s3_env
from tests.e2e.zip.support import other_readers_accept, ranges_match, read_zip
from tests.harness.database import fresh_database
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import assert_no_crashes, start_deployment


@pytest.fixture(scope="module", params=["all", "split"])
def s3_portal(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seaweed: SeaweedServer,
    pg_url: str,
) -> Iterator[Tree]:
    shape: str = request.param
    env = {**ENV, **s3_env(seaweed.url, new_bucket()), "FILEBAY_TRASH_DAYS": "30"}
    with contextlib.ExitStack() as stack:
        database_url = None
        if shape == "split":
            database_url = stack.enter_context(fresh_database("filebay_zip_s3", pg_url))
            env["FILEBAY_DATABASE_URL"] = database_url
        data_dir = tmp_path_factory.mktemp(f"zip-s3-{shape}")
        portal = Tree(start_deployment(shape, data_dir, env), database_url, env)
        stack.callback(portal.close)
        yield portal
        assert_no_crashes(portal.deployment)


def test_a_zip_from_the_bucket_resumes_anywhere(s3_portal: Tree, tmp_path: Path) -> None:
    portal = s3_portal
    who = portal.user("zip")
    big = hashlib.sha256(b"s3").digest() * 200_000  # 6.4 MB: several S3 read chunks
    portal.put_ok(who, "box/big.bin", big)
    for i in range(30):
        portal.put_ok(who, f"box/small/{i:02d}.txt", f"small {i}\n".encode())
    box = portal.resolve(who, "/box").json()
    url = f"{portal.download}/api/folders/{box['id']}/zip"
    whole = portal.http.get(url, headers=who)
    assert whole.status_code == 200, whole.text
    entries = read_zip(whole.content)
    assert entries["box/big.bin"] == big
    assert entries["box/small/29.txt"] == b"small 29\n"
    other_readers_accept(whole.content, tmp_path)
    ranges_match(portal.http, url, who, whole.content)
    # Resuming at 90%: inside the big file's bytes or the small ones, same as the whole.
    at = len(whole.content) * 9 // 10
    etag = whole.headers["etag"]
    resumed = portal.http.get(url, headers={**who, "Range": f"bytes={at}-", "If-Range": etag})
    assert (resumed.status_code, resumed.content) == (206, whole.content[at:])
