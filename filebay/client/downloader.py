"""Downloading one file: into ``PATH.part``, resumed with ``Range``/``If-Range``, verified
against the record's SHA-256, and only then renamed to ``PATH``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from filebay.client.errors import ClientError
from filebay.client.http import check, error_detail
from filebay.client.pacing import Backoff, RateLimiter

READ_SIZE = 1024 * 1024


class _TryAgain(Exception):
    pass


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str
    #: Bytes already in ``PATH.part`` that the server agreed to continue after.
    resumed_from: int


def safe_filename(name: str) -> str:
    """A name from the server made safe to create in a folder: its last path segment,
    control characters removed. ``..``, ``.`` and empty names are refused."""
    last = re.split(r"[/\\]", name)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip()
    if cleaned in ("", ".", ".."):
        raise ClientError(f"the file's name {name!r} cannot be used here; choose one with -o PATH")
    return cleaned


def destination(name: str, output: Path | None) -> Path:
    """Where to save a file called ``name``: ``output``, or inside it when it is a folder,
    or ``name`` in the current folder."""
    if output is None:
        return Path(safe_filename(name))
    if output.is_dir():
        return output / safe_filename(name)
    return output


def part_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.part")


def _hash_file(file: BinaryIO) -> tuple[Any, int]:
    digest = hashlib.sha256()
    file.seek(0)
    size = 0
    while data := file.read(READ_SIZE):
        digest.update(data)
        size += len(data)
    return digest, size


def _content_range_start(response: httpx.Response) -> int | None:
    match = re.fullmatch(r"bytes (\d+)-\d+/\d+", response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


class Download:
    """The transfer of one record's bytes into ``dest``."""

    def __init__(
        self,
        client: httpx.Client,
        record: dict[str, Any],
        dest: Path,
        *,
        backoff: Backoff | None = None,
        progress: Callable[[int], None] = lambda _done: None,
        log: Callable[[str], None] = lambda _message: None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.file_id = str(record["id"])
        self.size = int(record["size"])
        self.sha256 = str(record["sha256"])
        self.dest = dest
        self.part = part_path(dest)
        self.backoff = backoff or Backoff()
        self.progress = progress
        self.log = log
        self.digest: Any = hashlib.sha256()
        self.have = 0

    def run(self) -> DownloadResult:
        """Fetch, verify, rename. A mismatch removes ``.part`` and raises ``ClientError``."""
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with self.part.open("a+b") as file:
            self.digest, self.have = _hash_file(file)
            if self.have > self.size:
                self._restart(file)
            resumed_from = self._transfer(file)
            if resumed_from and self.digest.hexdigest() != self.sha256:
                # The old part was not a prefix of this file after all: one fresh try.
                self.log(f"{self.dest.name}: the partial download was damaged; starting over")
                self._restart(file)
                resumed_from = self._transfer(file)
            file.flush()
            os.fsync(file.fileno())
        if self.digest.hexdigest() != self.sha256:
            with contextlib.suppress(FileNotFoundError):
                self.part.unlink()
            raise ClientError(
                f"{self.dest}: the downloaded bytes have SHA-256 {self.digest.hexdigest()}, the "
                f"server says {self.sha256}; nothing was kept"
            )
        os.replace(self.part, self.dest)
        return DownloadResult(self.dest, self.size, self.sha256, resumed_from)

    def _transfer(self, file: BinaryIO) -> int:
        """GETs until the part holds ``size`` bytes; returns the bytes kept from before."""
        resumed_from = self.have
        self.progress(self.have)
        failures = 0
        while self.have < self.size:
            before = self.have
            try:
                if not self._fetch(file):
                    resumed_from = 0
            except (_TryAgain, httpx.TransportError) as exc:
                failures = 1 if self.have > before else failures + 1
                if self.backoff.exhausted(failures):
                    raise ClientError(f"download failed after {failures} attempts: {exc}") from exc
                self.log(f"{self.dest.name}: {str(exc) or type(exc).__name__}; retrying")
                self.backoff.wait(failures)
        return resumed_from

    def _restart(self, file: BinaryIO) -> None:
        file.truncate(0)
        self.digest, self.have = hashlib.sha256(), 0
        self.progress(0)

    def _fetch(self, file: BinaryIO) -> bool:
        """One GET from ``self.have`` on. Returns whether the bytes from before were kept
        (206), rather than started over (200)."""
        headers = {"Accept-Encoding": "identity"}
        if self.have:
            headers["Range"] = f"bytes={self.have}-"
            headers["If-Range"] = f'"{self.sha256}"'
        url = f"/api/files/{self.file_id}/content"
        with self.client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status >= 500 or status in (408, 423, 429):
                response.read()
                raise _TryAgain(f"{error_detail(response)} (HTTP {status})")
            if status == 416 and self.have:
                # What we have is not a prefix of this file: start over.
                self._restart(file)
                return False
            check(response, 200, 206, action=f"downloading {self.file_id}")
            kept = status == 206
            if kept and _content_range_start(response) != self.have:
                raise ClientError(
                    f"the server answered Range: bytes={self.have}- with "
                    f"Content-Range: {response.headers.get('Content-Range')}"
                )
            if not kept:
                if self.have:
                    self.log(f"{self.dest.name}: the server sent the whole file; starting over")
                self._restart(file)
            for data in response.iter_raw():
                if self.limiter is not None:
                    self.limiter.throttle(len(data))
                if self.have + len(data) > self.size:
                    raise ClientError(f"the server sent more than the file's {self.size} bytes")
                file.write(data)
                self.digest.update(data)
                self.have += len(data)
                self.progress(self.have)
            if self.have < self.size:
                raise _TryAgain(f"the connection ended at byte {self.have} of {self.size}")
        return kept
