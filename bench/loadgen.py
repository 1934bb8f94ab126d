"""Clients that drive the servers: curl for big transfers, an asyncio client for many
small uploads, wrk for many small downloads. All are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx


@dataclass
class CurlResult:
    status: int
    seconds: float
    bytes_up: int
    bytes_down: int
    body: bytes


def curl(
    args: list[str],
    url: str,
    headers: dict[str, str],
    timeout: float,
    body_out: Path | None = None,
    expect: bool = False,
) -> CurlResult:
    """Run curl once; the response body goes to ``body_out`` (read back) or /dev/null.

    Without ``expect`` no 'Expect: 100-continue' round trip is made: throughput, not the
    handshake, is measured.
    """
    out = str(body_out) if body_out else "/dev/null"
    argv = ["curl", "-sS", "-o", out, "--max-time", str(int(timeout))]
    argv += ["-w", "%{http_code} %{time_total} %{size_upload} %{size_download}"]
    argv += ["-H", "Expect: 100-continue" if expect else "Expect:"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv += [*args, url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"curl failed ({proc.returncode}): {proc.stderr.strip()}")
    code, total, up, down = proc.stdout.split()
    body = body_out.read_bytes() if body_out and body_out.exists() else b""
    return CurlResult(int(code), float(total), int(float(up)), int(float(down)), body)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class SmallRun:
    """Result of N small requests at a fixed concurrency."""

    count: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    bodies: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        ok = len(self.latencies)
        return {
            "requests": self.count,
            "completed": ok,
            "seconds": round(self.seconds, 3),
            "per_s": round(ok / self.seconds, 1) if self.seconds > 0 else 0.0,
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 2) if ok else None,
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 2) if ok else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors[:5],
        }


class _RawConnection:
    """One keep-alive HTTP/1.1 connection, enough of the protocol for this bench."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        if "content-length" in hdrs:
            data = await self.reader.readexactly(int(hdrs["content-length"]))
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        elif status in (204, 304) or status < 200:
            data = b""
        else:  # body delimited by close
            data = await self.reader.read()
            hdrs["connection"] = "close"
        if hdrs.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def _read_chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        for _ in range(1_000_000):
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers expected
                break
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        return b"".join(parts)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


PathAndBody = Callable[[int], tuple[str, bytes]]


async def _put_many_raw(
    base: str,
    make: PathAndBody,
    count: int,
    concurrency: int,
    headers: dict[str, str],
    keep_bodies: bool,
) -> SmallRun:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    run = SmallRun(count, 0.0, [], {}, [b""] * count if keep_bodies else [])
    counter = iter(range(count))

    async def worker() -> None:
        conn = _RawConnection(host, port)
        try:
            for i in counter:
                path, body = make(i)
                head = (
                    f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Type: application/octet-stream\r\n"
                    f"Content-Length: {len(body)}\r\n{extra}\r\n"
                ).encode()
                t0 = time.perf_counter()
                try:
                    status, data = await conn.request(head, body)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    run.errors.append(f"{path}: {exc!r}")
                    await conn.close()
                    continue
                run.latencies.append(time.perf_counter() - t0)
                run.statuses[status] = run.statuses.get(status, 0) + 1
                if keep_bodies:
                    run.bodies[i] = data
        finally:
            await conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - t0
    return run


async def _put_many_httpx(
    base: str,
    make: PathAndBody,
    count: int,
    concurrency: int,
    headers: dict[str, str],
    keep_bodies: bool,
) -> SmallRun:
    run = SmallRun(count, 0.0, [], {}, [b""] * count if keep_bodies else [])
    counter = iter(range(count))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30.0
    ) as client:

        async def worker() -> None:
            for i in counter:
                path, body = make(i)
                t0 = time.perf_counter()
                try:
                    r = await client.put(
                        path, content=body, headers={"Content-Type": "application/octet-stream"}
                    )
                except httpx.HTTPError as exc:
                    run.errors.append(f"{path}: {exc!r}")
                    continue
                run.latencies.append(time.perf_counter() - t0)
                run.statuses[r.status_code] = run.statuses.get(r.status_code, 0) + 1
                if keep_bodies:
                    run.bodies[i] = r.content

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - t0
    return run


def put_many(
    base: str,
    make: PathAndBody,
    count: int,
    concurrency: int,
    headers: dict[str, str],
    client: str = "raw",
    keep_bodies: bool = False,
    timeout: float = 600.0,
) -> SmallRun:
    """PUT ``count`` bodies from ``make(i) -> (path, body)`` with ``concurrency`` connections."""
    impl = _put_many_raw if client == "raw" else _put_many_httpx

    async def bounded() -> SmallRun:
        return await asyncio.wait_for(
            impl(base, make, count, concurrency, headers, keep_bodies), timeout
        )

    try:
        import uvloop  # the client must not be the bottleneck: use the faster loop if present

        return uvloop.run(bounded())
    except ImportError:
        return asyncio.run(bounded())


WRK_LUA = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def wrk_get(
    url: str,
    connections: int,
    seconds: float,
    headers: dict[str, str],
    script_dir: Path,
    threads: int = 1,
) -> dict[str, float]:
    """One wrk run of ``seconds`` (bounded) against ``url``; returns the parsed summary."""
    script = script_dir / "bench-done.lua"
    if not script.exists():
        script.write_text(WRK_LUA)
    secs = max(1, round(seconds))
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{secs}s"]
    argv += ["--timeout", "10s", "-s", str(script)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60)
    m = re.search(r"^BENCHJSON (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(m.group(1))
    dur = data["duration_us"] / 1e6
    data["seconds"] = round(dur, 3)
    data["per_s"] = round(data["requests"] / dur, 1) if dur > 0 else 0.0
    data["p50_ms"] = round(data.pop("p50_us") / 1000, 2)
    data["p99_ms"] = round(data.pop("p99_us") / 1000, 2)
    data["mean_ms"] = round(data.pop("mean_us") / 1000, 2)
    return data


def wrk_duration_for(
    url: str, count: int, connections: int, headers: dict[str, str], script_dir: Path
) -> tuple[float, float]:
    """Seconds a wrk run needs to make about ``count`` requests (from a 1 s calibration run).

    wrk is duration-based (whole seconds); stopping its threads early from Lua leaves its
    clock running, so a count is reached by sizing the duration instead. Returns
    (seconds, calibration rate).
    """
    calib = wrk_get(url, connections, 1, headers, script_dir)
    rate = max(calib["per_s"], 1.0)
    return count / rate, rate


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


def random_file(path: Path, size: int, chunk: int = 1 << 20) -> str:
    """Write ``size`` random bytes to ``path`` (fsynced); returns their SHA-256 hex."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = os.urandom(min(chunk, left))
            h.update(block)
            f.write(block)
            left -= len(block)
        f.flush()
        os.fsync(f.fileno())
    return h.hexdigest()


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_writes(
    root: Path, bodies: Callable[[int], bytes], count: int, threads: int
) -> SmallRun:
    """The disk's own rate for durable small files, with no HTTP and no database: ``threads``
    threads each create a temp file, write, fsync, rename it into a ``ab/cd/<key>`` shard and
    fsync the shard, as filebay's local blob store does for every upload (DESIGN §3).

    nginx's PUT skips both fsyncs; this peer shows how much of the small-file gap that is."""
    temp = root / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    run = SmallRun(count, 0.0, [], {})
    counter = iter(range(count))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            key = os.urandom(16).hex()
            t0 = time.perf_counter()
            part = temp / key
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, bodies(i))
                os.fsync(fd)
            finally:
                os.close(fd)
            shard = root / key[:2] / key[2:4]
            shard.mkdir(parents=True, exist_ok=True)
            os.rename(part, shard / key)
            _fsync_dir(str(shard))
            with lock:
                run.latencies.append(time.perf_counter() - t0)
                run.statuses[201] = run.statuses.get(201, 0) + 1

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    run.seconds = time.perf_counter() - t0
    return run
