"""Thumbnails with FILEBAY_STORAGE=s3 on a real S3 server (SeaweedFS), in both shapes: kept in
the bucket beside the file's object, served from there, deleted with the file."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.s3.moto import new_bucket, object_keys, s3_client, s3_env
from tests.harness import media
from tests.harness.database import fresh_database
from tests.harness.http import client
from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import Deployment, assert_no_crashes, running


class Site:
    def __init__(self, deployment: Deployment, s3: Any, bucket: str) -> None:
        self.dep, self.s3, self.bucket = deployment, s3, bucket

    def objects(self, file_id: str) -> list[str]:
        return object_keys(self.s3, self.bucket, f"blobs/{file_id}")


@pytest.fixture(scope="module", params=["all", "split"])
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seaweed: SeaweedServer,
    pg_url: str,
) -> Iterator[Site]:
    shape: str = request.param
    bucket = new_bucket()
    env = s3_env(seaweed.url, bucket)
    with contextlib.ExitStack() as stack:
        if shape == "split":
            env["FILEBAY_DATABASE_URL"] = stack.enter_context(
                fresh_database("filebay_thumbs_s3", pg_url)
            )
        data_dir = tmp_path_factory.mktemp(f"thumbnails-s3-{shape}")
        deployment = stack.enter_context(running(shape, data_dir, env))
        yield Site(deployment, s3_client(seaweed.url), bucket)
        assert_no_crashes(deployment)


def test_thumbnails_live_in_the_bucket_beside_the_file(site: Site) -> None:
    with client() as http:
        put = http.put(f"{site.dep.upload}/api/upload/photo.jpg", content=media.jpeg(900, 600))
        assert put.status_code == 201, put.text
        file_id = put.json()["id"]
        url = f"{site.dep.download}/api/files/{file_id}/thumbnail?size=256"

        first = http.get(url)
        assert first.status_code == 200, first.text
        assert media.size_of(first.content) == (256, 171)
        assert site.objects(file_id) == [f"blobs/{file_id}", f"blobs/{file_id}.t256"]
        stored = site.s3.get_object(Bucket=site.bucket, Key=f"blobs/{file_id}.t256")
        assert stored["Body"].read() == first.content
        made = stored["LastModified"]

        second = http.get(url)
        assert (second.status_code, second.content) == (200, first.content)
        head = site.s3.head_object(Bucket=site.bucket, Key=f"blobs/{file_id}.t256")
        assert head["LastModified"] == made  # served from the bucket, not made again

        bad = http.put(f"{site.dep.upload}/api/upload/bomb.png", content=media.decompression_bomb())
        bad_id = bad.json()["id"]
        none = http.get(f"{site.dep.download}/api/files/{bad_id}/thumbnail?size=64")
        assert none.status_code == 404

        for gone in (file_id, bad_id):
            assert (
                http.delete(f"{site.dep.metadata}/api/files/{gone}?permanent=true").status_code
                == 204
            )
            assert site.objects(gone) == []
