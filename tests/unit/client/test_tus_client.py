"""The tus wire pieces: metadata, checksum header, upload id, Location handling."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from filebay.client.errors import ClientError
from filebay.client.tus import (
    TryAgain,
    UploadGone,
    checksum_header,
    create_upload,
    encode_metadata,
    file_metadata,
    upload_id,
    upload_offset,
)
from filebay.transfer.tus.headers import parse_checksum, parse_metadata


def test_metadata_is_base64_pairs_the_server_parses() -> None:
    header = encode_metadata({"filename": "résumé, final.pdf", "filetype": "application/pdf"})
    assert header == (
        f"filename {base64.b64encode('résumé, final.pdf'.encode()).decode()},"
        f"filetype {base64.b64encode(b'application/pdf').decode()}"
    )
    assert parse_metadata(header) == {
        "filename": "résumé, final.pdf".encode(),
        "filetype": b"application/pdf",
    }


def test_metadata_of_an_empty_value() -> None:
    assert encode_metadata({"filename": ""}) == "filename "


@pytest.mark.parametrize("key", ["", "a b", "a,b", "clé"])
def test_metadata_refuses_keys_tus_cannot_carry(key: str) -> None:
    with pytest.raises(ValueError):
        encode_metadata({key: "x"})


@pytest.mark.parametrize(
    ("name", "filetype"),
    [
        ("report.pdf", "application/pdf"),
        ("photo.JPG", "image/jpeg"),
        ("notes.txt", "text/plain"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_file_metadata_guesses_the_type(name: str, filetype: str) -> None:
    assert file_metadata(Path("/some/dir") / name) == {"filename": name, "filetype": filetype}


def test_checksum_header_is_sha256_base64_the_server_accepts() -> None:
    digest = hashlib.sha256(b"chunk").digest()
    header = checksum_header(digest)
    assert header == f"sha256 {base64.b64encode(digest).decode()}"
    assert parse_checksum(header) == ("sha256", digest)


@pytest.mark.parametrize(
    "url",
    ["http://h/api/tus/abc123", "http://h/api/tus/abc123/", "https://h:9/x/y/abc123?z=1"],
)
def test_upload_id_is_the_last_path_segment(url: str) -> None:
    assert upload_id(url) == "abc123"


def test_upload_id_needs_a_segment() -> None:
    with pytest.raises(ClientError):
        upload_id("http://h/")


def _client(handler: object) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_relative_location_is_resolved_against_the_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Upload-Length"] == "10"
        assert request.headers["Tus-Resumable"] == "1.0.0"
        return httpx.Response(201, headers={"Location": "/api/tus/xyz"})

    with _client(handler) as client:
        url = create_upload(client, "http://h:8000/api/tus/", 10, {"filename": "a"})
    assert url == "http://h:8000/api/tus/xyz"


def test_location_on_another_host_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"Location": "http://evil.test/api/tus/xyz"})

    with _client(handler) as client, pytest.raises(ClientError, match="elsewhere"):
        create_upload(client, "http://h:8000/api/tus/", 10, {"filename": "a"})


@pytest.mark.parametrize(("status", "outcome"), [(404, UploadGone), (410, UploadGone)])
def test_head_of_a_gone_upload(status: int, outcome: type[Exception]) -> None:
    with _client(lambda _r: httpx.Response(status)) as client, pytest.raises(outcome):
        upload_offset(client, "http://h/api/tus/x")


@pytest.mark.parametrize("status", [408, 409, 423, 429, 500, 502, 503])
def test_transient_answers_say_try_again(status: int) -> None:
    with _client(lambda _r: httpx.Response(status)) as client, pytest.raises(TryAgain):
        upload_offset(client, "http://h/api/tus/x")


def test_head_without_offset_is_an_error() -> None:
    with _client(lambda _r: httpx.Response(200)) as client, pytest.raises(ClientError):
        upload_offset(client, "http://h/api/tus/x")
