"""Uploading one file with tus: resume where the server is, retry what is transient, and
check at the end that the server stored exactly the bytes of the file."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from filebay.client.errors import ClientError
from filebay.client.http import check, json_of, same_origin
from filebay.client.pacing import Backoff, RateLimiter
from filebay.client.tus import (
    ChecksumMismatch,
    TryAgain,
    UploadGone,
    create_upload,
    file_metadata,
    send_chunk,
    upload_id,
    upload_offset,
)
from filebay.client.upload_state import FileKey, UploadState

MIB = 1024 * 1024
#: Bytes read from the file per step: memory stays this small whatever the chunk size.
PIECE_SIZE = 256 * 1024
#: A chunk whose checksum the server rejects this many times in a row fails the file.
CHECKSUM_ATTEMPTS = 3
#: Times an upload the server forgot (404/410) is started over before the file fails.
MAX_RESTARTS = 2
TUS_PATH = "/api/tus/"

Progress = Callable[[int], None]


class FileChanged(ClientError):
    """The local file changed while it was being uploaded."""


@dataclass
class UploadOptions:
    chunk_size: int = 8 * MIB
    piece_size: int = PIECE_SIZE
    backoff: Backoff = field(default_factory=Backoff)
    limiter: RateLimiter | None = None


@dataclass(frozen=True)
class UploadResult:
    path: Path
    file_id: str
    name: str
    size: int
    url: str
    #: Where this run started: 0 for a fresh upload, the server's offset for a resumed one.
    resumed_from: int


def read_pieces(file: BinaryIO, offset: int, length: int, piece_size: int) -> Iterator[bytes]:
    """``length`` bytes of ``file`` from ``offset``, ``piece_size`` at a time."""
    file.seek(offset)
    remaining = length
    while remaining > 0:
        data = file.read(min(piece_size, remaining))
        if not data:
            raise FileChanged(f"{file.name} became shorter while it was being uploaded")
        remaining -= len(data)
        yield data


def _ignore_progress(_done: int) -> None:
    pass


class FileUploader:
    """Uploads files to one server, remembering unfinished ones in ``state``."""

    def __init__(
        self,
        client: httpx.Client,
        server: str,
        state: UploadState,
        options: UploadOptions | None = None,
        log: Callable[[str], None] = lambda _message: None,
    ) -> None:
        self.client = client
        self.server = server
        self.endpoint = f"{server}{TUS_PATH}"
        self.state = state
        self.options = options or UploadOptions()
        self.log = log

    def upload(
        self,
        path: Path,
        progress: Progress = _ignore_progress,
        metadata: Mapping[str, str] | None = None,
    ) -> UploadResult:
        """Upload ``path`` (resuming an earlier attempt when there is one). ``metadata`` is
        sent besides the name and type (``folder_id``, ``relativePath``, ``on_conflict``)."""
        return _Upload(self, path, progress, metadata or {}).run()


class _Upload:
    """One file's upload: the loop and the bookkeeping it needs."""

    def __init__(
        self,
        uploader: FileUploader,
        path: Path,
        progress: Progress,
        metadata: Mapping[str, str],
    ) -> None:
        self.up = uploader
        self.metadata = {**file_metadata(path), **metadata}
        self.opts = uploader.options
        self.path = path
        self.progress = progress
        # Where the file goes is part of what is resumed: not the same upload elsewhere.
        self.target = json.dumps(sorted(metadata.items())) if metadata else ""
        self.key = FileKey.of(uploader.server, path, self.target)
        self.size = self.key.size
        self.failures = 0
        self.checksum_failures = 0
        # SHA-256 of the file's first ``hashed_to`` bytes, which the server has confirmed.
        self.whole = hashlib.sha256()
        self.hashed_to = 0

    # -- retries

    def _retrying(self, action: Callable[[], Any]) -> Any:
        """``action()``, retried with backoff while it raises ``TryAgain``."""
        while True:
            try:
                return action()
            except TryAgain as exc:
                self._failed(exc)

    def _failed(self, exc: TryAgain) -> None:
        self.failures += 1
        if self.opts.backoff.exhausted(self.failures):
            raise ClientError(f"giving up after {self.failures} failed attempts: {exc}") from exc
        delay = self.opts.backoff.delay(self.failures)
        self.up.log(f"{self.path.name}: {exc}; retrying in {delay:g} s")
        self.opts.backoff.wait(self.failures)

    # -- hashing

    def _hash_to(self, file: BinaryIO, offset: int) -> None:
        """Make ``whole`` the hash of the first ``offset`` bytes (reading what is missing)."""
        if offset < self.hashed_to:
            self.whole, self.hashed_to = hashlib.sha256(), 0
        for piece in read_pieces(file, self.hashed_to, offset - self.hashed_to, MIB):
            self.whole.update(piece)
        self.hashed_to = offset

    # -- the protocol steps

    def _start(self) -> tuple[str, int]:
        """The upload URL and the server's offset: resumed from the state file, or new."""
        url = self.up.state.get(self.key)
        if url is not None and same_origin(url, self.up.server):
            try:
                offset = self._retrying(lambda: upload_offset(self.up.client, url))
            except UploadGone:
                offset = None
            if offset is not None and offset <= self.size:
                self.up.log(f"{self.path.name}: resuming at byte {offset} of {self.size} ({url})")
                return url, offset
            if offset is None and self._already_stored(upload_id(url)):
                return url, self.size
            self.up.log(
                f"{self.path.name}: the earlier upload is gone on the server; starting over"
            )
        return self._create(), 0

    def _create(self) -> str:
        url: str = self._retrying(
            lambda: create_upload(self.up.client, self.up.endpoint, self.size, self.metadata)
        )
        self.failures = 0
        self.up.state.put(self.key, url)
        return url

    def _already_stored(self, file_id: str) -> bool:
        """Whether the earlier run finished (the session is gone, the file is there)."""
        response = self._retrying(lambda: self._get_record(file_id, allow_missing=True))
        if response is None or response.get("size") != self.size:
            return False
        with self.path.open("rb") as file:
            self._hash_to(file, self.size)
        return bool(response.get("sha256") == self.whole.hexdigest())

    def _get_record(self, file_id: str, allow_missing: bool = False) -> dict[str, Any] | None:
        try:
            response = self.up.client.get(f"{self.up.server}/api/files/{file_id}")
        except httpx.TransportError as exc:
            raise TryAgain(f"GET: {exc}") from exc
        if response.status_code >= 500:
            raise TryAgain(f"GET: HTTP {response.status_code}")
        if allow_missing and response.status_code == 404:
            return None
        return json_of(check(response, 200, action="reading the uploaded record"), "sha256")

    def _body(self, file: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
        """The PATCH body: pieces of the file, each counted once it has been handed on."""
        limiter = self.opts.limiter
        sent = offset
        for piece in read_pieces(file, offset, length, self.opts.piece_size):
            if limiter is not None:
                limiter.throttle(len(piece))
            yield piece
            sent += len(piece)
            self.progress(sent)

    def _send(self, file: BinaryIO, url: str, offset: int) -> int:
        """One PATCH of the next chunk; returns the server's new offset."""
        length = min(self.opts.chunk_size, self.size - offset)
        chunk = hashlib.sha256()
        candidate = self.whole.copy()
        for piece in read_pieces(file, offset, length, self.opts.piece_size):
            chunk.update(piece)
            candidate.update(piece)
        new_offset = send_chunk(
            self.up.client, url, offset, length, chunk.digest(), self._body(file, offset, length)
        )
        if new_offset == offset + length:
            self.whole, self.hashed_to = candidate, new_offset
        return new_offset

    def _sync(self, file: BinaryIO, url: str) -> int:
        """After a failure: the server's offset (continue from there)."""
        offset: int = self._retrying(lambda: upload_offset(self.up.client, url))
        if offset > self.size:
            raise ClientError(f"the server reports {offset} bytes of a {self.size}-byte upload")
        self._hash_to(file, offset)
        self.progress(offset)
        return offset

    def _step(self, file: BinaryIO, url: str, offset: int) -> int:
        """Send the next chunk, or recover from a failed one; returns the offset to go on at."""
        try:
            new_offset = self._send(file, url, offset)
        except ChecksumMismatch:
            self.checksum_failures += 1
            if self.checksum_failures >= CHECKSUM_ATTEMPTS:
                raise ClientError(
                    f"the server rejected the chunk at byte {offset} {self.checksum_failures} "
                    "times as corrupted (Upload-Checksum mismatch)"
                ) from None
            self.up.log(f"{self.path.name}: checksum mismatch at byte {offset}; resending")
            return self._sync(file, url)
        except TryAgain as exc:
            self._failed(exc)
            return self._sync(file, url)
        if new_offset <= offset:
            raise ClientError(f"the server did not move past byte {offset} of the upload")
        self.failures = self.checksum_failures = 0
        self.progress(new_offset)
        self._hash_to(file, new_offset)
        return new_offset

    def run(self) -> UploadResult:
        url, offset = self._start()
        resumed_from = offset
        self.progress(offset)
        restarts = 0
        with self.path.open("rb") as file:
            self._hash_to(file, offset)
            while offset < self.size:
                try:
                    offset = self._step(file, url, offset)
                except UploadGone:
                    restarts += 1
                    if restarts > MAX_RESTARTS:
                        raise ClientError("the server keeps losing the upload; giving up") from None
                    self.up.log(f"{self.path.name}: the server lost the upload; starting over")
                    url, offset = self._create(), 0
                    self._hash_to(file, 0)
                    self.progress(0)
        return self._finish(url, resumed_from)

    def _finish(self, url: str, resumed_from: int) -> UploadResult:
        self.up.state.remove(self.key)
        file_id = upload_id(url)
        record: dict[str, Any] = self._retrying(lambda: self._get_record(file_id))
        changed = FileKey.of(self.up.server, self.path, self.target) != self.key
        if changed or record.get("sha256") != self.whole.hexdigest():
            # The stored copy is not this file: remove it rather than leave a wrong one.
            with contextlib.suppress(httpx.HTTPError):
                self.up.client.delete(f"{self.up.server}/api/files/{file_id}")
            reason = (
                "the file changed while it was being uploaded"
                if changed
                else (
                    f"the server stored SHA-256 {record.get('sha256')}, "
                    f"the file has {self.whole.hexdigest()}"
                )
            )
            raise ClientError(f"{reason}; the uploaded copy was deleted")
        return UploadResult(
            path=self.path,
            file_id=file_id,
            name=str(record.get("name", self.path.name)),
            size=self.size,
            url=url,
            resumed_from=resumed_from,
        )
