"""The servers under test, as subprocesses that are always cleaned up.

Every process and temp dir is registered in ``CLEANUP``; ``CLEANUP.run()`` is called
from ``finally`` in run.py, from atexit, and on SIGTERM/SIGINT.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


class Cleanup:
    """LIFO list of undo actions, run at most once each."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], None]]] = []

    def add(self, label: str, action: Callable[[], None]) -> None:
        self._actions.append((label, action))

    def discard(self, label: str) -> None:
        self._actions = [(lbl, act) for lbl, act in self._actions if lbl != label]

    def run(self) -> None:
        while self._actions:
            label, action = self._actions.pop()
            try:
                action()
            except Exception as exc:  # cleanup must go on whatever one step did
                print(f"cleanup: {label}: {exc!r}")


CLEANUP = Cleanup()
atexit.register(CLEANUP.run)


def _on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)


def make_tempdir(prefix: str, parent: str | None = None) -> Path:
    """A new temp dir removed at cleanup."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    CLEANUP.add(f"rmtree {path}", lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ManagedServer:
    """A subprocess in its own session (so its whole group can be stopped), logging to a file."""

    name = "server"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child from here on
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()
        proc = self.proc
        CLEANUP.add(f"stop {self.name} {proc.pid}", lambda: _stop_process(proc))

    def stop(self) -> None:
        if self.proc is not None:
            _stop_process(self.proc)
            CLEANUP.discard(f"stop {self.name} {self.proc.pid}")
            self.proc = None

    def wait_http(self, url: str, timeout: float, headers: dict[str, str] | None = None) -> None:
        """Poll ``url`` until it answers 200, the process dies, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0, headers=headers) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode} while starting;"
                        f" log tail:\n{tail(self.log_path)}"
                    )
                try:
                    r = client.get(url)
                    if r.status_code == 200:
                        return
                    last = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} not ready at {url} after {timeout:.0f}s ({last});"
            f" log tail:\n{tail(self.log_path)}"
        )


class FilebayServer(ManagedServer):
    """``filebay serve`` on a loopback port with its own data dir."""

    name = "filebay"

    def __init__(
        self,
        cmd: list[str],
        data_dir: Path,
        log_path: Path,
        database_url: str | None = None,
        token: str | None = None,
        workers: int = 1,
    ) -> None:
        super().__init__(log_path)
        self.cmd = cmd
        self.workers = workers
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = 0
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.setdefault("FILEBAY_AUTH", "off")
        env["FILEBAY_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["FILEBAY_DATABASE_URL"] = self.database_url
        else:
            env.pop("FILEBAY_DATABASE_URL", None)
        argv = [
            *self.cmd,
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *(["--workers", str(self.workers)] if self.workers > 1 else []),
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {' '.join(argv)}\n".encode())
        self._spawn(argv, env)
        self.wait_http(f"{self.base}/healthz", timeout)


NGINX_CONF = """\
{user}worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    default_type application/octet-stream;
    types {{ }}
    client_max_body_size 0;
    # Request bodies land beside the target dir, so a PUT is a rename, not a copy.
    client_body_temp_path {www}/.body-temp;
    proxy_temp_path {prefix}/proxy-temp;
    fastcgi_temp_path {prefix}/fastcgi-temp;
    uwsgi_temp_path {prefix}/uwsgi-temp;
    scgi_temp_path {prefix}/scgi-temp;
    server {{
        listen {host}:{port};
        root {www};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
"""


class NginxServer(ManagedServer):
    """Debian's nginx with a generated config: static GET and WebDAV PUT on one folder."""

    name = "nginx"

    def __init__(self, binary: str, prefix: Path, workers: int) -> None:
        super().__init__(prefix / "stdout.log")
        self.binary = binary
        self.prefix = prefix
        self.www = prefix / "www"
        self.workers = workers
        self.port = 0
        self.headers: dict[str, str] = {}

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        self.port = free_port()
        (self.www / ".body-temp").mkdir(parents=True, exist_ok=True)
        (self.www / "ready").write_text("ok\n")
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                user="user root;\n" if os.geteuid() == 0 else "",
                workers=self.workers,
                prefix=self.prefix,
                www=self.www,
                host=LOOPBACK,
                port=self.port,
            )
        )
        argv = [self.binary, "-p", str(self.prefix), "-e", str(self.prefix / "error.log")]
        argv += ["-c", str(conf), "-g", "daemon off;"]
        self._spawn(argv)
        self.wait_http(f"{self.base}/ready", timeout)


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def nginx_has_dav(binary: str) -> bool:
    out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10)
    return "--with-http_dav_module" in (out.stdout + out.stderr)
