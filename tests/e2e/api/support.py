"""Helpers for the API tests: raw HTTP, multipart bodies, the data dir, own deployments."""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.harness.servers import Deployment, assert_no_crashes, start_deployment
from tests.harness.waiting import wait_until

# --- raw HTTP --------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    send_error: OSError | None = None


def _read_response(sock: socket.socket, *, head_only: bool = False) -> RawResponse:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a response: {buf!r}")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    if head_only:
        return RawResponse(status, headers, rest)
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return RawResponse(status, headers, rest)


def raw_request(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: Iterable[bytes] = (),
    *,
    chunked: bool = False,
    timeout: float = 15.0,
) -> RawResponse:
    """One request over a plain socket: the path goes out byte for byte (no normalisation),
    and the response is read even when the server answers (and stops reading) early."""
    url = urlsplit(base_url)
    assert url.hostname and url.port
    head = f"{method} {path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
    for key, value in (headers or {}).items():
        head += f"{key}: {value}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    head += "Connection: close\r\n\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        send_error: OSError | None = None
        try:
            sock.sendall(head.encode("latin-1"))
            for chunk in body:
                if chunked:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    sock.sendall(chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError as exc:  # the server answered early and closed: read what it said
            send_error = exc
        response = _read_response(sock)
        response.send_error = send_error
        return response


def send_partial_and_vanish(
    base_url: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    """Send a request head and part of its body, then close the connection."""
    url = urlsplit(base_url)
    assert url.hostname and url.port
    head = f"{method} {path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + body)
        time.sleep(0.3)  # let the server start streaming it into the blob store


# --- multipart -----------------------------------------------------------------------------

BOUNDARY = "filebay-test-boundary-7f3a9c"


@dataclass
class Part:
    name: str
    data: bytes
    filename: bytes | None = None  # raw bytes, so tests can send anything
    content_type: str | None = None
    extra_headers: list[bytes] = field(default_factory=list)

    def head(self, boundary: str = BOUNDARY) -> bytes:
        disposition = b'Content-Disposition: form-data; name="' + self.name.encode() + b'"'
        if self.filename is not None:
            disposition += b'; filename="' + self.filename + b'"'
        lines = [b"--" + boundary.encode(), disposition]
        if self.content_type:
            lines.append(b"Content-Type: " + self.content_type.encode())
        lines += self.extra_headers
        return b"\r\n".join(lines) + b"\r\n\r\n"


def multipart_body(parts: list[Part], boundary: str = BOUNDARY) -> bytes:
    out = b""
    for part in parts:
        out += part.head(boundary) + part.data + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def multipart_type(boundary: str = BOUNDARY) -> str:
    return f"multipart/form-data; boundary={boundary}"


# --- the data dir --------------------------------------------------------------------------


def blob_files(data_dir: Path) -> set[Path]:
    return {p for p in (data_dir / "blobs").rglob("*") if p.is_file()}


def temp_files(data_dir: Path) -> list[Path]:
    temp_dir = data_dir / "tmp"
    return sorted(temp_dir.iterdir()) if temp_dir.is_dir() else []


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root``, relative, with SQLite journals left out."""
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if not p.name.endswith(("-wal", "-shm", "-journal"))
    }


def settle(data_dir: Path, blobs: set[Path], timeout: float = 10.0) -> None:
    """Wait until no temp file is left and the blobs are ``blobs`` again: a request the client
    abandoned is cleaned up after the client is gone (temp first, then published blobs)."""
    try:
        wait_until(
            lambda: temp_files(data_dir) == [] and blob_files(data_dir) == blobs,
            timeout,
            "no temp file left and the blobs as before",
            interval=0.05,
        )
    except AssertionError:
        assert temp_files(data_dir) == [], "temp files left behind"
        assert blob_files(data_dir) == blobs, "blobs added or removed"
        raise


def names_and_ids(base_url: str, q: str) -> dict[str, str]:
    """id → name of every file whose name contains ``q``."""
    out: dict[str, str] = {}
    cursor = None
    while True:
        params = {"q": q, "limit": "1000", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base_url}/api/files", params=params, timeout=30).json()
        out.update({item["id"]: item["name"] for item in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return out


# --- servers of our own ---------------------------------------------------------------------


@contextlib.contextmanager
def own_deployment(
    shape: str, data_dir: Path, env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """``tests.harness.servers.running`` that also fails when a request crashed a server."""
    deployment = start_deployment(shape, data_dir, env)
    try:
        yield deployment
        assert_no_crashes(deployment)
    finally:
        deployment.stop()


def fresh_folder(deployment: Deployment, http: httpx.Client) -> str:
    """A new, empty folder of the caller's: names asked for there are names got (since
    DESIGN §8.1 a name already taken in a folder is stored as ``name (1).ext``)."""
    made = http.post(
        f"{deployment.metadata}/api/folders", json={"name": f"t-{secrets.token_hex(6)}"}
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])
