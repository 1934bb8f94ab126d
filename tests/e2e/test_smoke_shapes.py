"""Both shapes answer the same upload → list → download round trip."""

from __future__ import annotations

import hashlib

import httpx

from tests.harness.servers import Deployment


def test_upload_list_download_round_trip(deployment: Deployment) -> None:
    data = b"hello filebay\n" * 1000
    r = httpx.put(f"{deployment.upload}/api/upload/hello.txt", content=data)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    listed = httpx.get(f"{deployment.metadata}/api/files", params={"q": "HELLO"}).json()
    assert record["id"] in [item["id"] for item in listed["items"]]
    got = httpx.get(f"{deployment.download}/api/files/{record['id']}/content")
    assert got.status_code == 200
    assert got.content == data
