"""Helpers of the tus tests: the harness's portal with its users' tokens, raw tus requests."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.harness import portal as harness
from tests.harness.http import bearer, client, create_api_token
from tests.harness.servers import Deployment, ServerProcess, free_port

TUS = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"
ADMIN_PASSWORD = "tus-admin-password-0123"
PASSWORD = "tus-user-password-0123"
MAX_UPLOAD = 32 * 1024 * 1024
TINY_QUOTA = 1000
#: How long a service trusts a checked token (and the quota it read with it) in these tests.
REVOCATION_SECONDS = 1
REVOCATION_WAIT = REVOCATION_SECONDS + 0.5

# Every tus deployment: logins on, a known admin, a small maximum upload size.
AUTH_ENV = {
    "FILEBAY_AUTH": "on",
    "FILEBAY_ADMIN_PASSWORD": ADMIN_PASSWORD,
    "FILEBAY_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
    "FILEBAY_LOG_LEVEL": "warning",
    "FILEBAY_REVOCATION_SECONDS": str(REVOCATION_SECONDS),
}


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def metadata_header(metadata: dict[str, str]) -> str:
    """``Upload-Metadata``: ``key base64(value)`` pairs; a key alone for an empty value."""
    return ",".join(f"{k} {b64(v)}" if v else k for k, v in metadata.items())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def upload_id(location: str) -> str:
    return urlsplit(location).path.rstrip("/").rsplit("/", 1)[1]


# --- a deployment with users ---------------------------------------------------------------


@dataclass
class Site(harness.Portal):
    """The harness's portal with bearer JWTs for its users (by name), and raw tus requests."""

    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"{self.deployment.upload}/api/tus/"

    @property
    def upload_process(self) -> ServerProcess:
        return self.process("upload")

    def headers(self, user: str = "alice") -> dict[str, str]:
        """The bearer headers of ``user``'s JWT."""
        return bearer(self.tokens[user])

    def tus(self, user: str = "alice", **extra: str) -> dict[str, str]:
        return {**self.headers(user), "Tus-Resumable": TUS, **extra}

    def url(self, location_or_id: str, base: str | None = None) -> str:
        path = location_or_id if "/" in location_or_id else f"/api/tus/{location_or_id}"
        return f"{base or self.deployment.upload}{urlsplit(path).path}"

    def enrol(self, user: str, quota_bytes: int | None = None) -> None:
        """A new user ``user`` with PASSWORD, logged in (``tokens[user]``)."""
        # No quota field at all unless one is asked for (the service's default applies).
        quota = {} if quota_bytes is None else {"quota_bytes": quota_bytes}
        self.add_user(user, PASSWORD, **quota)
        self.tokens[user] = self.login(user, PASSWORD)

    def api_token(self, user: str) -> str:
        name = f"tus-{secrets.token_hex(3)}"
        return str(create_api_token(self.auth, self.headers(user), name, http=self.http)["token"])

    # tus, raw

    def create(
        self,
        length: int,
        user: str = "alice",
        metadata: dict[str, str] | None = None,
        base: str | None = None,
    ) -> str:
        """POST a new upload; its absolute URL."""
        headers = self.tus(user, **{"Upload-Length": str(length)})
        if metadata:
            headers["Upload-Metadata"] = metadata_header(metadata)
        with client() as c:
            r = c.post(f"{base or self.deployment.upload}/api/tus/", headers=headers)
        assert r.status_code == 201, r.text
        return self.url(r.headers["Location"], base)

    def fresh_folder(self, user: str = "alice") -> str:
        """A new folder of ``user``'s: a name asked for there is the name got (a taken name
        would be numbered, DESIGN §8.1)."""
        with client() as c:
            r = c.post(
                f"{self.deployment.metadata}/api/folders",
                json={"name": f"t-{secrets.token_hex(6)}"},
                headers=self.headers(user),
            )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def patch(
        self, url: str, offset: int, data: bytes, user: str = "alice", **extra: str
    ) -> httpx.Response:
        headers = self.tus(user, **{"Upload-Offset": str(offset), "Content-Type": OFFSET_TYPE})
        with client() as c:
            return c.patch(url, headers={**headers, **extra}, content=data)

    def head(self, url: str, user: str = "alice") -> httpx.Response:
        with client() as c:
            return c.head(url, headers=self.tus(user))

    def offset(self, url: str, user: str = "alice") -> int:
        r = self.head(url, user)
        assert r.status_code == 200, r.status_code
        return int(r.headers["Upload-Offset"])

    def record(self, file_id: str, user: str = "alice") -> dict[str, object]:
        with client() as c:
            r = c.get(f"{self.deployment.metadata}/api/files/{file_id}", headers=self.headers(user))
        assert r.status_code == 200, r.text
        return dict(r.json())

    def content(self, file_id: str, user: str = "alice") -> bytes:
        with client(timeout=60) as c:
            r = c.get(
                f"{self.deployment.download}/api/files/{file_id}/content",
                headers=self.headers(user),
            )
        assert r.status_code == 200, r.text
        return r.content

    def staged(self, file_id: str) -> Path:
        return self.data_dir / "staging" / file_id


def start_site(
    deployment: Deployment,
    users: tuple[str, ...] = ("alice", "bob", "tiny"),
    database_url: str | None = None,
) -> Site:
    """Log the admin in and add ``users`` (``tiny`` has a quota of ``TINY_QUOTA`` bytes).
    The caller stops the deployment and closes ``site.http``."""
    site = Site(deployment, database_url, AUTH_ENV, admin_password=ADMIN_PASSWORD)
    site.tokens["admin"] = site.admin_token()
    for user in users:
        site.enrol(user, quota_bytes=TINY_QUOTA if user == "tiny" else None)
    return site


def extra_process(
    site: Site, env: dict[str, str] | None = None, service: str = "upload"
) -> ServerProcess:
    """Another ``service`` process of a split deployment: same data dir, same settings
    (``env`` on top), its own port. The caller stops it."""
    base = site.deployment.processes[service]
    port = free_port()
    proc = ServerProcess(
        service,
        port,
        base.data_dir,
        {**base.env, **(env or {})},
        base.data_dir / f"{service}-{port}.log",
    )
    return proc.start()


# --- a client that vanishes -----------------------------------------------------------------


def patch_and_vanish(
    url: str, headers: dict[str, str], content_length: int, sent: bytes, linger: float = 0.3
) -> None:
    """PATCH announcing ``content_length`` body bytes, send only ``sent``, then close the
    connection without reading an answer (a client that crashed or lost its network)."""
    parts = urlsplit(url)
    lines = [
        f"PATCH {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {content_length}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + sent)
        time.sleep(linger)  # the server reads what arrived before the connection drops
