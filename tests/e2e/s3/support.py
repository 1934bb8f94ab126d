"""Helpers of the S3 and deployment tests: HTTP clients, tus requests."""

from __future__ import annotations

import base64
import hashlib

import httpx

from tests.harness.http import OUTAGE
from tests.harness.http import client as harness_client

TUS = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"


def client(timeout: float = 30.0) -> httpx.Client:
    """The harness's client: any 5xx fails the test, but 503 and 507 (the S3 server gone or
    full) are answers on purpose here."""
    return harness_client(timeout, allow=OUTAGE)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tus_create(http: httpx.Client, base: str, name: str, length: int) -> str:
    """A new tus upload; its URL."""
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    answer = http.post(
        f"{base}/api/tus/",
        headers={"Tus-Resumable": TUS, "Upload-Length": str(length), "Upload-Metadata": meta},
    )
    assert answer.status_code == 201, answer.text
    location = answer.headers["Location"]
    return location if location.startswith("http") else f"{base}{location}"


def tus_patch(
    http: httpx.Client, url: str, offset: int, chunk: bytes, checksum: str | None = None
) -> httpx.Response:
    headers = {"Tus-Resumable": TUS, "Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE}
    if checksum is not None:
        headers["Upload-Checksum"] = checksum
    return http.patch(url, headers=headers, content=chunk)


def tus_offset(http: httpx.Client, url: str) -> int:
    answer = http.head(url, headers={"Tus-Resumable": TUS})
    assert answer.status_code == 200, answer.status_code
    return int(answer.headers["Upload-Offset"])


def sha1_checksum(chunk: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode()
