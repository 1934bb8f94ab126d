"""Real filebay servers for the tests: uvicorn in subprocesses, in either shape."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_TIMEOUT = 30.0


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
            sys.executable, "-m", "filebay", "serve",
            "--service", self.service, "--port", str(self.port), "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        env = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{self.service} did not start:\n{self.log()}")

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

    def _url(self, service: str) -> str:
        proc = self.processes.get(service) or self.processes["all"]
        return proc.url

    @property
    def auth(self) -> str:
        return self._url("auth")

    @property
    def upload(self) -> str:
        return self._url("upload")

    @property
    def metadata(self) -> str:
        return self._url("metadata")

    @property
    def download(self) -> str:
        return self._url("download")

    def stop(self) -> None:
        for proc in self.processes.values():
            proc.stop()


def start_deployment(shape: str, data_dir: Path, env: dict[str, str] | None = None) -> Deployment:
    """``all``: one process. ``split``: auth, metadata, upload and download processes."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # Single-user unless the test asks for logins (FILEBAY_AUTH=on): most suites are about
    # files, and tests/auth/ covers logins, ownership and the access matrix.
    env = {"FILEBAY_LOG_LEVEL": "warning", "FILEBAY_AUTH": "off", **(env or {})}
    deployment = Deployment(shape, data_dir)
    # The auth service starts first: it creates the first admin and the signing key.
    services = ["all"] if shape == "all" else ["auth", "metadata", "upload", "download"]
    ports = {name: free_port() for name in services}
    if shape == "split":
        env = {
            **env,
            "FILEBAY_METADATA_URL": f"http://127.0.0.1:{ports['metadata']}",
            "FILEBAY_AUTH_URL": f"http://127.0.0.1:{ports['auth']}",
            "FILEBAY_UI_URL": f"http://127.0.0.1:{ports['upload']}",
        }
    try:
        for name in services:
            proc = ServerProcess(name, ports[name], data_dir, env, data_dir / f"{name}.log")
            deployment.processes[name] = proc
            proc.start()
    except BaseException:
        deployment.stop()
        raise
    return deployment


@contextlib.contextmanager
def running(shape: str, data_dir: Path, env: dict[str, str] | None = None) -> Iterator[Deployment]:
    deployment = start_deployment(shape, data_dir, env)
    try:
        yield deployment
    finally:
        deployment.stop()
