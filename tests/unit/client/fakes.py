"""In-process fakes of the server for the client's unit tests: httpx transports that speak
just enough tus and content serving, and fail on request."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from filebay.transfer.tus.headers import metadata_text, parse_metadata

SERVER = "http://files.test"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


@dataclass
class FakeUpload:
    length: int
    name: str
    filetype: str | None
    data: bytearray = field(default_factory=bytearray)


@dataclass
class Seen:
    """One request as the fake saw it."""

    method: str
    path: str
    headers: httpx.Headers
    pieces: list[int] = field(default_factory=list)


class FakeTus(httpx.BaseTransport):
    """tus at ``/api/tus/`` plus ``GET``/``DELETE /api/files/{id}``.

    ``faults`` maps a method to what its next requests do instead of the normal answer:
    a status code, or ``("cut", n)`` (keep the body's first ``n`` bytes, then drop the
    connection, like a network failure mid-request), or ``"down"`` (connection refused)."""

    def __init__(self, keep_partial: bool = True) -> None:
        self.uploads: dict[str, FakeUpload] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.faults: dict[str, list[Any]] = {}
        self.seen: list[Seen] = []
        self.keep_partial = keep_partial
        self.location_prefix = "/api/tus/"
        self.corrupt_records = False

    def fail(self, method: str, *faults: Any) -> None:
        self.faults.setdefault(method, []).extend(faults)

    def count(self, method: str) -> int:
        return sum(1 for s in self.seen if s.method == method)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        seen = Seen(request.method, request.url.path, request.headers)
        self.seen.append(seen)
        queue = self.faults.get(request.method)
        fault = queue.pop(0) if queue else None
        if fault == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(fault, int):
            request.read()
            return _json(fault, {"detail": f"injected {fault}"})
        path = request.url.path
        if path.startswith("/api/tus/"):
            assert request.headers["Tus-Resumable"] == "1.0.0"
            upload_id = path.removeprefix("/api/tus/")
            if request.method == "POST":
                return self._create(request)
            if upload_id not in self.uploads and upload_id not in self.records:
                request.read()
                return _json(404, {"detail": "not found"})
            if request.method == "HEAD":
                return self._head(upload_id)
            if request.method == "PATCH":
                return self._patch(request, upload_id, seen, fault)
        match = re.fullmatch(r"/api/files/([^/]+)", path)
        if match:
            record = self.records.get(match.group(1))
            if record is None:
                return _json(404, {"detail": "not found"})
            if request.method == "DELETE":
                del self.records[match.group(1)]
                return httpx.Response(204)
            return _json(200, record)
        return _json(404, {"detail": "no route"})

    def _create(self, request: httpx.Request) -> httpx.Response:
        request.read()
        length = int(request.headers["Upload-Length"])
        metadata = parse_metadata(request.headers.get("Upload-Metadata"))
        upload_id = uuid.uuid4().hex
        name = metadata_text(metadata, "filename") or "unnamed"
        self.uploads[upload_id] = FakeUpload(length, name, metadata_text(metadata, "filetype"))
        if length == 0:
            self._complete(upload_id)
        return httpx.Response(201, headers={"Location": f"{self.location_prefix}{upload_id}"})

    def _head(self, upload_id: str) -> httpx.Response:
        if upload_id in self.records:
            size = self.records[upload_id]["size"]
            return httpx.Response(
                200, headers={"Upload-Offset": str(size), "Upload-Length": str(size)}
            )
        upload = self.uploads[upload_id]
        headers = {"Upload-Offset": str(len(upload.data)), "Upload-Length": str(upload.length)}
        return httpx.Response(200, headers=headers)

    def _patch(
        self, request: httpx.Request, upload_id: str, seen: Seen, fault: Any
    ) -> httpx.Response:
        upload = self.uploads[upload_id]
        assert request.headers["Content-Type"] == "application/offset+octet-stream"
        offset = int(request.headers["Upload-Offset"])
        body = bytearray()
        assert isinstance(request.stream, Iterable)
        for piece in request.stream:
            seen.pieces.append(len(piece))
            body += piece
        assert len(body) == int(request.headers["Content-Length"])
        if offset != len(upload.data):
            return _json(409, {"detail": "offset mismatch"})
        if isinstance(fault, tuple) and fault[0] == "cut":
            if self.keep_partial:
                upload.data += body[: fault[1]]
            raise httpx.WriteError("connection reset by peer", request=request)
        algorithm, _, encoded = request.headers["Upload-Checksum"].partition(" ")
        assert algorithm == "sha256"
        if hashlib.sha256(body).digest() != base64.b64decode(encoded):
            return _json(460, {"detail": "checksum mismatch"})
        if fault == "flip":  # the bytes arrive damaged: the checksum catches it
            return _json(460, {"detail": "checksum mismatch"})
        upload.data += body
        if len(upload.data) == upload.length:
            self._complete(upload_id)
        return httpx.Response(204, headers={"Upload-Offset": str(len(upload.data))})

    def _complete(self, upload_id: str) -> None:
        upload = self.uploads.pop(upload_id)
        digest = hashlib.sha256(upload.data).hexdigest()
        self.records[upload_id] = {
            "id": upload_id,
            "name": upload.name,
            "size": upload.length,
            "content_type": upload.filetype,
            "sha256": "0" * 64 if self.corrupt_records else digest,
        }


class FakeContent(httpx.BaseTransport):
    """``GET /api/files/{id}/content`` of one file, with ``Range`` and ``If-Range``.

    ``faults``: ``("cut", n)`` sends ``n`` bytes then fails mid-body; a status code answers
    that; ``"ignore-range"`` answers 200 with the whole file."""

    def __init__(self, data: bytes, file_id: str = "f1") -> None:
        self.data = data
        self.file_id = file_id
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.faults: list[Any] = []
        self.seen: list[httpx.Headers] = []

    @property
    def record(self) -> dict[str, Any]:
        return {
            "id": self.file_id,
            "name": "data.bin",
            "size": len(self.data),
            "sha256": self.sha256,
        }

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/files/{self.file_id}/content"
        self.seen.append(request.headers)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, int):
            return _json(fault, {"detail": f"injected {fault}"})
        start = 0
        ranged = request.headers.get("Range")
        if (
            ranged
            and fault != "ignore-range"
            and request.headers.get("If-Range") == f'"{self.sha256}"'
        ):
            start = int(ranged.removeprefix("bytes=").rstrip("-"))
        body = self.data[start:]
        status = 206 if start else 200
        headers = {"ETag": f'"{self.sha256}"', "Content-Length": str(len(body))}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(self.data) - 1}/{len(self.data)}"
        if isinstance(fault, tuple) and fault[0] == "cut":
            return httpx.Response(status, headers=headers, stream=_CutStream(body[: fault[1]]))
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class _CutStream(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Any:
        yield self.data
        raise httpx.ReadError("connection reset by peer")
