"""moto's standalone S3 server on a loopback port, for the tests that inject a fault (the
server gone, a bucket lost), and the S3 helpers every S3 test uses, with moto or with the
real SeaweedFS (``tests.harness.seaweed``).

The code under test talks to either over HTTP exactly as it would to AWS S3; nothing in the
client is patched."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.harness.seaweed import SeaweedServer
from tests.harness.servers import free_port

# The tests' credentials: moto checks none, SeaweedFS is configured with these; set for the
# test process and every server.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "filebay-test",
    "AWS_SECRET_ACCESS_KEY": "filebay-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    # No shared config, profiles or instance metadata: only the variables above count.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
MIB = 1024 * 1024


@dataclass
class MotoServer:
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        self.port = self.port or free_port()
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.url, timeout=1)
                return self
            time.sleep(0.05)
        raise RuntimeError("moto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


#: Either S3 server: both have ``url`` and ``port``.
S3Server = MotoServer | SeaweedServer


@contextlib.contextmanager
def moto_server(log_path: Path) -> Iterator[MotoServer]:
    server = MotoServer(log_path).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def aws_credentials() -> Iterator[None]:
    """The test process itself (in-process stores, fsck) sees the test credentials."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in AWS_ENV.items():
            mp.setenv(key, value)
        yield


def s3_client(endpoint: str) -> Any:
    """A plain boto3 client, to look into the bucket behind filebay's back."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def object_keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def multipart_uploads(client: Any, bucket: str) -> list[str]:
    """Keys of the incomplete multipart uploads in ``bucket``."""
    answer = client.list_multipart_uploads(Bucket=bucket)
    return sorted(upload["Key"] for upload in answer.get("Uploads", []))


def new_bucket() -> str:
    return f"filebay-{secrets.token_hex(6)}"


def s3_env(endpoint: str, bucket: str, part_size: int = 5 * MIB) -> dict[str, str]:
    """What a filebay server needs to keep its blobs in ``bucket``."""
    return {
        **AWS_ENV,
        "FILEBAY_STORAGE": "s3",
        "FILEBAY_S3_ENDPOINT": endpoint,
        "FILEBAY_S3_BUCKET": bucket,
        "FILEBAY_S3_REGION": "us-east-1",
        "FILEBAY_S3_PART_SIZE": str(part_size),
        "FILEBAY_S3_CREATE_BUCKET": "true",
    }
