"""Uploads that must store nothing: too large, cut off by the client, or malformed."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.api.support import (
    Part,
    blob_files,
    multipart_body,
    multipart_type,
    names_and_ids,
    own_deployment,
    raw_request,
    send_partial_and_vanish,
    settle,
)
from tests.harness.database import fresh_database
from tests.harness.servers import Deployment

MIB = 1024 * 1024
LIMIT = MIB


@pytest.fixture(scope="module", params=["all", "split"])
def small_limit(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_url: str
) -> Iterator[Deployment]:
    """filebay with FILEBAY_MAX_UPLOAD_BYTES = 1 MiB, in both shapes."""
    shape: str = request.param
    root = tmp_path_factory.mktemp(f"small-{shape}")
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(LIMIT)}
    with contextlib.ExitStack() as stack:
        if shape == "split":
            # Its own database: one catalog belongs to one blob store (deployment identity).
            env["FILEBAY_DATABASE_URL"] = stack.enter_context(fresh_database("filebay_bad", pg_url))
        yield stack.enter_context(own_deployment(shape, root / "data", env))


class Snapshot:
    """The blobs before a request, to prove afterwards that it stored nothing."""

    def __init__(self, deployment: Deployment, tag: str) -> None:
        self.deployment = deployment
        self.tag = tag
        self.blobs = blob_files(deployment.data_dir)

    def assert_nothing_stored(self) -> None:
        data_dir = self.deployment.data_dir
        settle(data_dir, self.blobs)
        assert names_and_ids(self.deployment.metadata, self.tag) == {}

    def assert_still_serving(self) -> None:
        r = httpx.put(f"{self.deployment.upload}/api/upload/after-{self.tag}.txt", content=b"ok")
        assert r.status_code == 201
        got = httpx.get(f"{self.deployment.download}/api/files/{r.json()['id']}/content")
        assert got.content == b"ok"


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield b"z" * n
        sent += n


# --- over FILEBAY_MAX_UPLOAD_BYTES ----------------------------------------------------------


def test_put_declaring_a_length_over_the_limit_answers_413_before_the_body(
    small_limit: Deployment,
) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(small_limit, tag)
    # Only the head is sent: the answer must come without the server waiting for the body.
    r = raw_request(
        small_limit.upload,
        "PUT",
        f"/api/upload/{tag}.bin",
        {"Content-Length": str(LIMIT + 1)},
        timeout=5,
    )
    assert r.status == 413
    assert b"detail" in r.body
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_put_of_exactly_the_limit_is_stored(small_limit: Deployment) -> None:
    r = httpx.put(f"{small_limit.upload}/api/upload/exact.bin", content=b"e" * LIMIT)
    assert r.status_code == 201
    assert r.json()["size"] == LIMIT


@pytest.mark.parametrize("extra", [1, MIB // 2])
def test_chunked_put_growing_past_the_limit_answers_413_while_streaming(
    small_limit: Deployment, extra: int
) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(small_limit, tag)
    r = raw_request(
        small_limit.upload,
        "PUT",
        f"/api/upload/{tag}.bin",
        body=chunks(LIMIT + extra),
        chunked=True,
    )
    assert r.status == 413
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_httpx_streaming_put_past_the_limit_answers_413(small_limit: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(small_limit, tag)
    r = httpx.put(f"{small_limit.upload}/api/upload/{tag}.bin", content=chunks(LIMIT + 100))
    assert r.status_code == 413
    assert r.json()["detail"]
    snap.assert_nothing_stored()


@pytest.mark.parametrize("chunked", [False, True])
def test_multipart_file_over_the_limit_answers_413(small_limit: Deployment, chunked: bool) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(small_limit, tag)
    body = multipart_body([Part("file", b"b" * (LIMIT + 10), filename=f"{tag}.bin".encode())])
    pieces = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    headers = {"Content-Type": multipart_type()}
    if not chunked:
        headers["Content-Length"] = str(len(body))
    r = raw_request(small_limit.upload, "POST", "/api/files", headers, pieces, chunked=chunked)
    assert r.status == 413
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_multipart_is_all_or_nothing_when_a_later_file_is_too_large(
    small_limit: Deployment,
) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(small_limit, tag)
    body = multipart_body(
        [
            Part("file", b"small one", filename=f"{tag}-1.txt".encode()),
            Part("file", b"also small", filename=f"{tag}-2.txt".encode()),
            Part("file", b"b" * (LIMIT + 1), filename=f"{tag}-3.bin".encode()),
        ]
    )
    r = httpx.post(
        f"{small_limit.upload}/api/files",
        content=body,
        headers={"Content-Type": multipart_type()},
    )
    assert r.status_code == 413
    snap.assert_nothing_stored()


def test_each_multipart_file_may_reach_the_limit(small_limit: Deployment) -> None:
    body = multipart_body(
        [Part("file", b"a" * LIMIT, filename=b"one.bin"), Part("file", b"b", filename=b"two.bin")]
    )
    r = httpx.post(
        f"{small_limit.upload}/api/files",
        content=body,
        headers={"Content-Type": multipart_type()},
    )
    assert r.status_code == 201
    assert [f["size"] for f in r.json()["files"]] == [LIMIT, 1]


# --- the client goes away mid-upload --------------------------------------------------------


def test_put_cut_off_by_the_client_stores_nothing(deployment: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(deployment, tag)
    send_partial_and_vanish(
        deployment.upload,
        "PUT",
        f"/api/upload/{tag}.bin",
        {"Content-Length": str(60 * MIB)},
        b"p" * (5 * MIB),
    )
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_chunked_put_cut_off_by_the_client_stores_nothing(deployment: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(deployment, tag)
    chunk = b"q" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40))
    send_partial_and_vanish(
        deployment.upload,
        "PUT",
        f"/api/upload/{tag}.bin",
        {"Transfer-Encoding": "chunked"},
        body,
    )
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_multipart_cut_off_by_the_client_stores_nothing(deployment: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(deployment, tag)
    full = multipart_body(
        [
            Part("file", b"first file, complete", filename=f"{tag}-1.txt".encode()),
            Part("file", b"m" * (20 * MIB), filename=f"{tag}-2.bin".encode()),
        ]
    )
    send_partial_and_vanish(
        deployment.upload,
        "POST",
        "/api/files",
        {"Content-Type": multipart_type(), "Content-Length": str(len(full))},
        full[: 3 * MIB],
    )
    snap.assert_nothing_stored()
    snap.assert_still_serving()


def test_client_gone_before_sending_any_body_stores_nothing(deployment: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(deployment, tag)
    send_partial_and_vanish(
        deployment.upload, "PUT", f"/api/upload/{tag}.bin", {"Content-Length": "1000"}, b""
    )
    snap.assert_nothing_stored()
    snap.assert_still_serving()


# --- malformed multipart --------------------------------------------------------------------

GOOD_PART = Part("file", b"content", filename=b"ok.txt")
MALFORMED: dict[str, tuple[str | None, bytes]] = {
    "no boundary": ("multipart/form-data", multipart_body([GOOD_PART])),
    "empty boundary": ("multipart/form-data; boundary=", multipart_body([GOOD_PART])),
    "another boundary": (
        "multipart/form-data; boundary=not-the-one-in-the-body",
        multipart_body([GOOD_PART]),
    ),
    "boundary too long": (
        f"multipart/form-data; boundary={'b' * 300}",
        multipart_body([GOOD_PART], "b" * 300),
    ),
    "truncated body": (multipart_type(), multipart_body([GOOD_PART])[:-20]),
    "truncated in the part headers": (multipart_type(), multipart_body([GOOD_PART])[:60]),
    "no closing boundary": (multipart_type(), multipart_body([GOOD_PART])[: -len(b"--\r\n")]),
    "empty body": (multipart_type(), b""),
    "no file part": (multipart_type(), multipart_body([Part("comment", b"just a field")])),
    "file part under another name": (
        multipart_type(),
        multipart_body([Part("files", b"x", filename=b"x.txt")]),
    ),
    "part without content-disposition": (
        multipart_type(),
        b"--" + multipart_type().split("=")[1].encode() + b"\r\nContent-Type: text/plain\r\n\r\n"
        b"x\r\n--" + multipart_type().split("=")[1].encode() + b"--\r\n",
    ),
    "huge part headers": (
        multipart_type(),
        multipart_body(
            [Part("file", b"x", filename=b"x", extra_headers=[b"X-Pad: " + b"p" * 20000])]
        ),
    ),
    "garbage": (multipart_type(), b"\x00\xff" * 5000),
    "json": ("application/json", b'{"file": "x"}'),
    "urlencoded form": ("application/x-www-form-urlencoded", b"file=abc"),
    "no content type": (None, b"raw bytes"),
    "text": ("text/plain", b"hello"),
    "mixed not form-data": ("multipart/mixed; boundary=" + "x", b"--x\r\n\r\nhi\r\n--x--\r\n"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_multipart_answers_400_and_stores_nothing(
    deployment: Deployment, case: str
) -> None:
    content_type, body = MALFORMED[case]
    snap = Snapshot(deployment, "ok.txt")
    before = set(names_and_ids(deployment.metadata, "ok.txt"))
    headers = {"Content-Length": str(len(body))}
    if content_type is not None:
        headers["Content-Type"] = content_type
    r = raw_request(deployment.upload, "POST", "/api/files", headers, [body])
    assert r.status == 400, (r.status, r.body)
    assert b'"detail"' in r.body
    settle(deployment.data_dir, snap.blobs)
    assert set(names_and_ids(deployment.metadata, "ok.txt")) == before


def test_truncated_multipart_removes_files_already_complete(deployment: Deployment) -> None:
    tag = secrets.token_hex(4)
    snap = Snapshot(deployment, tag)
    body = multipart_body(
        [
            Part("file", b"one", filename=f"{tag}-1.txt".encode()),
            Part("file", b"two", filename=f"{tag}-2.txt".encode()),
        ]
    )
    cut = body[: body.rindex(b"two") + 1]
    r = httpx.post(
        f"{deployment.upload}/api/files",
        content=cut,
        headers={"Content-Type": multipart_type()},
    )
    assert r.status_code == 400
    snap.assert_nothing_stored()
