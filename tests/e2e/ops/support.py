"""Helpers of the operations tests: deployments with logins on, a throwaway PostgreSQL
cluster, raw sockets, fsck, server logs and the data dir."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.auth.support import AUTH_ENV, Portal
from tests.e2e.ops.load import Endpoints, Load, LoadUser, Recorder, create_users
from tests.harness.http import ADMIN_PASSWORD
from tests.harness.servers import free_port

KIB = 1024
MIB = 1024 * KIB

# Every ops deployment: logins on, info-level JSON logs (the log tests read them), and
# failed-login limits out of the way (the fuzzer tries thousands of wrong logins).
OPS_ENV = {
    **AUTH_ENV,
    "FILEBAY_REVOCATION_SECONDS": "30",
    "FILEBAY_LOGIN_MAX_FAILURES": "100000",
    "FILEBAY_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
    "FILEBAY_LOGIN_MAX_FAILURES_PER_USER": "100000",
    "FILEBAY_LOG_LEVEL": "info",
    "FILEBAY_LOG_FORMAT": "json",
}

#: The load test's summary, printed at the end of the run (conftest.pytest_terminal_summary).
LOAD_REPORT = pytest.StashKey[list[str]]()


def endpoints(portal: Portal) -> Endpoints:
    return Endpoints(portal.auth, portal.upload, portal.metadata, portal.download)


def load_users(portal: Portal, count: int, prefix: str | None = None) -> list[LoadUser]:
    return asyncio.run(create_users(endpoints(portal), ADMIN_PASSWORD, count, prefix=prefix))


class Background:
    """A ``Load`` running in a thread, so the test can break things meanwhile."""

    def __init__(self, load: Load) -> None:
        self.load = load
        self.recorder: Recorder | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.recorder = asyncio.run(self.load.run())
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.load.stop()
        self.thread.join(120)

    def finish(self) -> Recorder:
        """Stop the load and wait for it; what it recorded."""
        self.load.stop()
        self.thread.join(120)
        assert not self.thread.is_alive(), "the load did not stop"
        if self.error is not None:
            raise self.error
        assert self.recorder is not None
        return self.recorder


# --- server logs -----------------------------------------------------------------------------


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log records in a process's output (uvicorn's own lines are not JSON)."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                records.append(json.loads(line))
    return records


# --- the data dir ----------------------------------------------------------------------------


def tree(root: Path) -> set[Path]:
    """Every file and folder under ``root`` (relative)."""
    return {p.relative_to(root) for p in root.rglob("*")}


def fsck(portal: Portal, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "filebay_server", "fsck", "--grace-seconds", "0", *args]
    return subprocess.run(cmd, env=portal.cli_env(), capture_output=True, text=True, timeout=120)


# --- raw sockets -----------------------------------------------------------------------------


def connect(base_url: str, timeout: float = 30.0) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_status(sock: socket.socket) -> int | None:
    """The status of the answer on ``sock``, or None when it was closed without one."""
    buf = b""
    try:
        while b"\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            buf += chunk
    except (ConnectionResetError, BrokenPipeError):
        return None
    return int(buf.split(b" ", 2)[1])


# --- a throwaway PostgreSQL cluster ----------------------------------------------------------


def _pg_bin(tool: str) -> str:
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise RuntimeError(f"no PostgreSQL {tool} under /usr/lib/postgresql")
    return found[-1]


@dataclass
class PgCluster:
    """Our own PostgreSQL server (never the machine's shared one): started, stopped and
    restarted by the tests."""

    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", _pg_bin("pg_ctl"), "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.root / "pg.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True


@contextlib.contextmanager
def pg_cluster() -> Iterator[PgCluster]:
    """initdb in a fresh folder owned by postgres (not under pytest's root-only tmp dir),
    start, and remove it all afterwards."""
    root = Path(tempfile.mkdtemp(prefix="filebay-pg-"))
    try:
        shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", _pg_bin("initdb"), "-D", str(root / "data"),
             "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        cluster = PgCluster(root, free_port())
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.SubprocessError):
                cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
