"""Real filebay servers for the tests: uvicorn in subprocesses, in either shape, and what
their logs say."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.harness.database import fresh_database

# Generous: on a busy two-core machine, several services importing at once can take half a
# minute to answer. A healthy start is far quicker, so this only delays the report of a bad one.
READY_TIMEOUT = 120.0
# What a server's log shows when a request crashed it (a 500 is always a bug).
CRASH_MARKERS = ("Traceback (most recent call last)", "Exception in ASGI application")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """One ``filebay serve`` process."""

    service: str
    port: int
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> ServerProcess:
        cmd = [
            sys.executable, "-m", "filebay_server", "serve",
            "--service", self.service, "--port", str(self.port), "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        env = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.service} did not start in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL: no cleanup runs, like a crash or the OOM killer."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Deployment:
    """filebay in one shape. URLs say which service answers which route."""

    shape: str
    data_dir: Path
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    def process(self, service: str) -> ServerProcess:
        """The process that runs ``service`` (the one process of the all-in-one shape)."""
        return self.processes.get(service) or self.processes["all"]

    # the base URL of each service (the one process's in the all-in-one shape)
    auth = property(lambda self: self.process("auth").url)
    upload = property(lambda self: self.process("upload").url)
    metadata = property(lambda self: self.process("metadata").url)
    download = property(lambda self: self.process("download").url)

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.stop()


def start_side_by_side(procs: Sequence[ServerProcess], first: Collection[str]) -> None:
    """Start ``procs`` in order, each without waiting for the one before, except that a
    process whose service is in ``first`` must be ready before the next starts; then wait
    for them all. Side by side saves most of the start-up time of a multi-process shape.
    On failure the caller stops the processes (those not started yet stop as a no-op)."""
    for proc in procs:
        proc.start(wait=proc.service in first)
    for proc in procs:
        proc.wait_ready()


def start_deployment(
    shape: str,
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    public_download_url: bool = False,
) -> Deployment:
    """``all``: one process. ``split``: auth, metadata, upload and download processes.

    ``public_download_url`` also tells the split's services where the browser finds the
    download service (FILEBAY_DOWNLOAD_URL): the UI's pages then link to it, but the API's
    records and share links carry absolute URLs instead of paths, so only the UI tests ask."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # Single-user unless the test asks for logins (FILEBAY_AUTH=on): most suites are about
    # files, and tests/e2e/auth/ covers logins, ownership and the access matrix.
    env = {"FILEBAY_LOG_LEVEL": "warning", "FILEBAY_AUTH": "off", **(env or {})}
    deployment = Deployment(shape, data_dir)
    services = ["all"] if shape == "all" else ["auth", "metadata", "upload", "download"]
    ports = {name: free_port() for name in services}
    if shape == "split":
        env = {
            **env,
            "FILEBAY_METADATA_URL": f"http://127.0.0.1:{ports['metadata']}",
            "FILEBAY_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
            "FILEBAY_UI_URL": f"http://127.0.0.1:{ports['upload']}",
        }
        if public_download_url:
            env["FILEBAY_DOWNLOAD_URL"] = f"http://127.0.0.1:{ports['download']}"
    for name in services:
        proc = ServerProcess(name, ports[name], data_dir, env, data_dir / f"{name}.log")
        deployment.processes[name] = proc
    try:
        # The auth service is ready before the others start: it creates the first admin and
        # the signing key. The others need neither to start, and concurrent schema
        # migrations are serialised by the database.
        start_side_by_side(list(deployment.processes.values()), first=("all", "auth"))
    except BaseException:
        deployment.stop()
        raise
    return deployment


@contextlib.contextmanager
def running(
    shape: str,
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    public_download_url: bool = False,
) -> Iterator[Deployment]:
    """``start_deployment`` for a ``with`` block: the processes stop when it ends."""
    deployment = start_deployment(shape, data_dir, env, public_download_url=public_download_url)
    try:
        yield deployment
    finally:
        deployment.stop()


@contextlib.contextmanager
def running_single_user(shape: str, data_dir: Path, pg_url: str) -> Iterator[Deployment]:
    """filebay as users run it: one process on SQLite, or four processes on the PostgreSQL
    database made beside ``pg_url`` for it; uploads up to 64 MiB.

    Single-user mode (FILEBAY_AUTH=off): these tests are about files; logins, ownership and
    the access matrix are tested with auth on in tests/e2e/auth/."""
    env = {"FILEBAY_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024), "FILEBAY_AUTH": "off"}
    with contextlib.ExitStack() as stack:
        if shape == "split":
            # A database of its own beside ``pg_url``: a catalog and a blob store belong
            # together (the deployment identity), so two deployments never share one.
            env["FILEBAY_DATABASE_URL"] = stack.enter_context(
                fresh_database("filebay_single", pg_url)
            )
        yield stack.enter_context(running(shape, data_dir, env))


# --- server logs -----------------------------------------------------------------------------


def log_offsets(deployment: Deployment) -> dict[str, int]:
    """Where each process's log ends now: give it to ``logs_since`` or ``crashes_since``."""
    return {
        name: proc.log_path.stat().st_size if proc.log_path.exists() else 0
        for name, proc in deployment.processes.items()
    }


def logs_since(deployment: Deployment, offsets: dict[str, int] | None = None) -> dict[str, str]:
    """Each process's log since ``offsets`` (from the start without)."""
    texts = {}
    for name, proc in deployment.processes.items():
        if not proc.log_path.exists():
            texts[name] = ""
            continue
        with proc.log_path.open("rb") as fh:
            fh.seek((offsets or {}).get(name, 0))
            texts[name] = fh.read().decode(errors="replace")
    return texts


def crashes_since(deployment: Deployment, offsets: dict[str, int] | None = None) -> str:
    """Log text of every process since ``offsets`` that shows a crashed request."""
    return "\n".join(
        f"--- {name} ---\n{text[-4000:]}"
        for name, text in logs_since(deployment, offsets).items()
        if any(marker in text for marker in CRASH_MARKERS)
    )


def assert_no_crashes(deployment: Deployment, offsets: dict[str, int] | None = None) -> None:
    """No process logged a crashed request since ``offsets`` (a 500 is always a bug)."""
    crashed = crashes_since(deployment, offsets)
    assert not crashed, f"a server logged a traceback:\n{crashed}"
