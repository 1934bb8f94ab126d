"""The tus 1.0.0 wire protocol, client side: create an upload, ask its offset, send a chunk.

Each call either returns what the server said or raises one of a few outcomes the upload
loop acts on: ``TryAgain`` (network error, 5xx, 408, 409, 423, 429: wait, ask the offset,
continue), ``ChecksumMismatch`` (460: send the chunk again), ``UploadGone`` (404/410: start
over), or ``ApiError`` (anything else: this file fails)."""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx

from filebay.client.errors import ClientError
from filebay.client.http import check, error_detail, same_origin

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
CHECKSUM_MISMATCH = 460
#: Answers after which the same request may work: a body cut off as too slow (408), an
#: offset conflict (409), a lock held by an earlier, broken request (423), rate limits (429).
RETRY_STATUSES = frozenset({408, 409, 423, 429})


class TryAgain(Exception):
    """A transient failure; the server's offset must be asked before continuing."""


class ChecksumMismatch(Exception):
    """The server received a chunk whose SHA-256 differs from the one announced."""


class UploadGone(Exception):
    """The server no longer knows the upload (expired, terminated, or never ours)."""


def encode_metadata(values: Mapping[str, str]) -> str:
    """``Upload-Metadata``: ``key base64(value)`` pairs joined by commas."""
    for key in values:
        if not key or any(ch in key for ch in " ,") or not key.isascii():
            raise ValueError(f"invalid Upload-Metadata key {key!r}")
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in values.items()
    )


def file_metadata(path: Path) -> dict[str, str]:
    """The metadata filebay reads: the file's name and its guessed MIME type."""
    filetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"filename": path.name, "filetype": filetype}


def checksum_header(digest: bytes) -> str:
    """``Upload-Checksum`` for a chunk whose SHA-256 is ``digest``."""
    return f"sha256 {base64.b64encode(digest).decode('ascii')}"


def upload_id(url: str) -> str:
    """The upload id (which is also the file id): the last path segment of the upload URL."""
    segment = httpx.URL(url).path.rstrip("/").rsplit("/", 1)[-1]
    if not segment:
        raise ClientError(f"the server gave an upload URL without an id: {url}")
    return segment


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    try:
        response = client.send(request)
    except httpx.TransportError as exc:
        raise TryAgain(f"{request.method}: {str(exc) or type(exc).__name__}") from exc
    if response.status_code >= 500 or response.status_code in RETRY_STATUSES:
        raise TryAgain(f"{request.method}: {error_detail(response)} (HTTP {response.status_code})")
    return response


def _headers(extra: Mapping[str, str]) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


def _offset(response: httpx.Response) -> int:
    value = response.headers.get("Upload-Offset", "")
    if not value.isdigit():
        raise ClientError(
            f"the server answered {response.request.method} without a valid Upload-Offset "
            f"(HTTP {response.status_code})"
        )
    return int(value)


def create_upload(
    client: httpx.Client, endpoint: str, length: int, metadata: Mapping[str, str]
) -> str:
    """POST: a new upload of ``length`` bytes. Returns its absolute URL."""
    headers = {"Upload-Length": str(length), "Upload-Metadata": encode_metadata(metadata)}
    request = client.build_request("POST", endpoint, headers=_headers(headers))
    response = check(_send(client, request), 201, action="creating the upload")
    location = response.headers.get("Location")
    if not location:
        raise ClientError("the server created the upload but sent no Location header")
    # Location may be relative: it is resolved against the URL that was asked.
    url = str(response.request.url.join(location))
    if not same_origin(url, endpoint):
        raise ClientError(
            f"the server sent the upload elsewhere ({url}); not sending the token there"
        )
    return url


def upload_offset(client: httpx.Client, url: str) -> int:
    """HEAD: how many bytes of the upload the server has."""
    response = _send(client, client.build_request("HEAD", url, headers=_headers({})))
    if response.status_code in (404, 410):
        raise UploadGone(url)
    check(response, 200, 204, action="asking the upload's offset")
    return _offset(response)


def send_chunk(
    client: httpx.Client,
    url: str,
    offset: int,
    length: int,
    digest: bytes,
    body: Iterable[bytes],
) -> int:
    """PATCH: ``length`` bytes at ``offset`` streamed from ``body``. Returns the new offset."""
    headers = {
        "Upload-Offset": str(offset),
        "Content-Type": OFFSET_CONTENT_TYPE,
        "Content-Length": str(length),
        "Upload-Checksum": checksum_header(digest),
    }
    request = client.build_request("PATCH", url, headers=_headers(headers), content=body)
    response = _send(client, request)
    if response.status_code == CHECKSUM_MISMATCH:
        raise ChecksumMismatch(url)
    if response.status_code in (404, 410):
        raise UploadGone(url)
    check(response, 204, 200, action="sending a chunk")
    return _offset(response)
