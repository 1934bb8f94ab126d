"""Server CPU per operation, filebay beside its peers, in one run.

    python bench/peers.py [--quick] [--size-mib 1024] [--small 2000] [--seconds 5]
                          [--only small-upload,small-download,put,get] [--profile DIR]
                          [--filebay-workers N] [--baseline TREE] [--out FILE]

Peers, each on a loopback port, started and stopped by this script:

- **filebay**: ``filebay serve`` with logins on (FILEBAY_AUTH=on) and an API token on every
  request, SQLite, local disk: its work on purpose included (auth, a catalog row, SHA-256,
  fsyncs, metrics, an access line);
- **minimal**: ``bench/peer_minimal.py`` under uvicorn, the best-case Python (FastAPI,
  ``request.stream()`` to a file, ``FileResponse``; no auth, no database, no fsync);
- **tus-node**: ``@tus/server`` with ``@tus/file-store`` (``bench/tusnode``; ``npm ci`` there
  once), uploads only (creation-with-upload, one request a file);
- **nginx**: WebDAV PUT and static GET (Debian's nginx), the floor.

Figures: 4 KiB uploads at 16 connections (files/s, server CPU µs per file), 4 KiB downloads
at 32 connections with wrk (req/s, CPU µs per request), a ``--size-mib`` raw PUT and GET
with curl (MB/s, server CPU s), and hashlib's SHA-256 of the same bytes in this process (the
CPU the hash alone costs). Server CPU is utime + stime of the server's process tree.

``--baseline TREE`` also runs the filebay of another source tree (an older copy of
``filebay*/`` and the service folders) as ``filebay-before``, for before/after figures from
one run. The machine may be busy with other work: compare ratios and CPU per operation within one
run, never absolute rates across runs. ``--profile DIR`` records filebay with py-spy during
each phase (raw collapsed stacks, ``DIR/<phase>.txt``) and prints the top frames.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
from servers import (
    CLEANUP,
    LOOPBACK,
    FilebayServer,
    ManagedServer,
    NginxServer,
    find_nginx,
    free_port,
    make_tempdir,
)
from sysmon import CLK_TCK, _read_stat, process_tree

from run import filebay_cmd, log

BENCH = Path(__file__).resolve().parent
MB = 1e6
MIB = 2**20
SMALL = 4096
ADMIN_PASSWORD = "bench-admin-password-0123456789"
TUS_HEADERS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}


def cpu_split(root: int) -> tuple[float, float]:
    """User and system CPU seconds of the process tree under ``root``."""
    user = system = 0
    for pid in process_tree(root):
        fields = _read_stat(pid)
        if fields is not None:  # utime, stime, cutime, cstime
            user += int(fields[11]) + int(fields[13])
            system += int(fields[12]) + int(fields[14])
    return user / CLK_TCK, system / CLK_TCK


class MinimalServer(ManagedServer):
    """bench/peer_minimal.py under uvicorn (its fastest loop and parser, no access log)."""

    name = "minimal"

    def __init__(self, root: Path) -> None:
        super().__init__(root / "minimal.log")
        self.root = root / "files"
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "peer_minimal:app", "--app-dir", str(BENCH)]
        argv += ["--host", LOOPBACK, "--port", str(self.port), "--log-level", "warning"]
        argv += ["--no-access-log"]
        self._spawn(argv, {**os.environ, "FILEBAY_PEER_DIR": str(self.root)})
        self.wait_http(f"{self.base}/docs", 30)


class TusNodeServer(ManagedServer):
    """@tus/server (Node) on a local folder."""

    name = "tus-node"

    def __init__(self, root: Path) -> None:
        super().__init__(root / "tus-node.log")
        self.root = root / "tus-files"
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> None:
        if not (BENCH / "tusnode" / "node_modules" / "@tus" / "server").exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=BENCH / "tusnode", check=True
            )
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._spawn(["node", str(BENCH / "tusnode" / "server.mjs"), str(self.port), str(self.root)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.options(f"{self.base}/files", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("tus-node did not start")


def start_filebay(
    work: Path, workers: int, name: str = "filebay", source: Path | None = None
) -> tuple[FilebayServer, dict[str, str]]:
    """filebay with logins on; the bearer headers of an API token of its admin. ``source``:
    run the filebay of that source tree instead (``--baseline``: before/after in one run)."""
    os.environ["FILEBAY_AUTH"] = "on"
    os.environ["FILEBAY_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    os.environ["FILEBAY_MAX_UPLOAD_BYTES"] = str(64 * 2**30)
    # The console script, not ``python -m`` (which would put the working directory, this
    # tree, first on the path): PYTHONPATH then takes ``source`` before the installed tree.
    server = FilebayServer(
        filebay_cmd(None), work / f"{name}-data", work / f"{name}.log", workers=workers
    )
    server.name = name
    saved = os.environ.get("PYTHONPATH")
    if source is not None:
        os.environ["PYTHONPATH"] = str(source)
    try:
        server.start()
    finally:
        os.environ.pop("PYTHONPATH", None)
        if saved is not None:
            os.environ["PYTHONPATH"] = saved
    with httpx.Client(base_url=server.base, timeout=30) as http:
        login = http.post("/api/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        jwt = login.json()["access_token"]
        made = http.post(
            "/api/tokens", json={"name": "bench"}, headers={"Authorization": f"Bearer {jwt}"}
        )
        made.raise_for_status()
    return server, {"Authorization": f"Bearer {made.json()['token']}"}


# --- many small requests ----------------------------------------------------------------


def many(
    base: str,
    method: str,
    make: Callable[[int], tuple[str, bytes]],
    count: int,
    concurrency: int,
    headers: dict[str, str],
) -> loadgen.SmallRun:
    """``count`` requests ``make(i) -> (path, body)`` over ``concurrency`` keep-alive
    connections (loadgen's raw client, any method)."""
    parts = urlsplit(base)
    host, port = parts.hostname or LOOPBACK, parts.port or 80
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    run = loadgen.SmallRun(count, 0.0, [], {})
    counter = iter(range(count))

    async def worker() -> None:
        conn = loadgen._RawConnection(host, port)
        try:
            for i in counter:
                path, body = make(i)
                head = (
                    f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Content-Length: {len(body)}\r\n{extra}\r\n"
                ).encode()
                started = time.perf_counter()
                try:
                    status, _ = await conn.request(head, body)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    run.errors.append(repr(exc))
                    await conn.close()
                    continue
                run.latencies.append(time.perf_counter() - started)
                run.statuses[status] = run.statuses.get(status, 0) + 1
        finally:
            await conn.close()

    async def all_workers() -> None:
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        run.seconds = time.perf_counter() - started

    asyncio.run(all_workers())
    return run


def _per_op(run: loadgen.SmallRun, cpu: float, ok: tuple[int, ...]) -> dict[str, Any]:
    done = sum(n for status, n in run.statuses.items() if status in ok)
    summary = run.summary()
    return {
        "per_s": round(done / run.seconds, 1) if run.seconds else 0.0,
        "cpu_us_per_op": round(cpu / done * 1e6) if done else None,
        "ok": done,
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "statuses": summary["statuses"],
    }


class Profiler:
    """py-spy recording a server while a phase runs (``--profile``)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, pid: int, phase: str) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.output = self.directory / f"{phase}.txt"
        argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid)]
        # --gil: only the thread holding the GIL, i.e. the Python work that costs CPU (not
        # threads waiting on fsync, nor hashing, which runs without the GIL).
        argv += ["--format", "raw", "--rate", "250", "--nonblocking", "--subprocesses", "--gil"]
        argv += ["--output", str(self.output), "--duration", "3600"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        self.proc = None
        log(f"profile {self.output}:\n{top_frames(self.output)}")


def top_frames(path: Path, count: int = 25) -> str:
    """The frames most often on CPU (self) and most often on the stack (total) in py-spy's
    raw collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        samples += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            total[frame] += int(n)
    lines = [f"{samples} samples; self:"]
    lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in own.most_common(count)]
    lines.append("total:")
    lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in total.most_common(count)]
    return "\n".join(lines)


# --- the phases -----------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = make_tempdir("filebay-peers-", args.tmp_dir)
        self.results: dict[str, Any] = {"note": "same run; compare ratios and CPU per op"}
        self.profiler = Profiler(args.profile)
        #: (phase, server) → the share of its CPU spent in the kernel.
        self.system_share: dict[tuple[str, str], float] = {}
        self.filebay, self.auth = start_filebay(self.work, args.filebay_workers)
        #: Every filebay measured: this tree's, and the --baseline tree's ("filebay-before").
        self.filebays = [("filebay", self.filebay, self.auth)]
        if args.baseline:
            before, auth = start_filebay(
                self.work, args.filebay_workers, "filebay-before", args.baseline
            )
            self.filebays.insert(0, ("filebay-before", before, auth))
        if args.also_workers:
            name = f"filebay-{args.also_workers}w"
            more, auth = start_filebay(self.work, args.also_workers, name)
            self.filebays.append((name, more, auth))
        self.minimal = MinimalServer(self.work)
        self.minimal.start()
        self.tus = TusNodeServer(self.work)
        self.tus.start()
        nginx = find_nginx()
        self.nginx = NginxServer(nginx, self.work / "nginx", 1) if nginx else None
        if self.nginx:
            self.nginx.start()

    def _measured(self, server: ManagedServer, phase: str, fn: Callable[[], Any]) -> Any:
        profiled = server is self.filebay
        if profiled:
            self.profiler.start(server.pid, phase)
        user, system = cpu_split(server.pid)
        try:
            result = fn()
        finally:
            user_after, system_after = cpu_split(server.pid)
            if profiled:
                self.profiler.stop()
        cpu = (user_after - user) + (system_after - system)
        self.system_share[phase, server.name] = (system_after - system) / cpu if cpu else 0.0
        return result, cpu

    def _kernel(self, phase: str, server: ManagedServer) -> float:
        return round(self.system_share.get((phase, server.name), 0.0), 2)

    def small_upload(self) -> None:
        count, body = self.args.small, os.urandom(SMALL)
        plans: list[
            tuple[str, ManagedServer, str, Callable[[int], tuple[str, bytes]], dict[str, str]]
        ]
        plans = [
            ("minimal", self.minimal, "PUT", lambda i: (f"/upload/s{i}.bin", body), {}),
            *(
                (name, fb, "PUT", lambda i: (f"/api/upload/s{i}.bin", body), auth)
                for name, fb, auth in self.filebays
            ),
            (
                "tus-node",
                self.tus,
                "POST",
                lambda i: ("/files", body),
                {**TUS_HEADERS, "Upload-Length": str(SMALL)},
            ),
        ]
        if self.nginx:
            plans.append(("nginx", self.nginx, "PUT", lambda i: (f"/s{i}.bin", body), {}))
        out: dict[str, Any] = {}
        for name, server, method, make, headers in plans:
            base = server.base  # type: ignore[attr-defined]
            many(base, method, make, 50, 4, headers)  # warm up
            run, cpu = self._measured(
                server,
                "small-upload",
                lambda b=base, m=method, f=make, h=headers: many(b, m, f, count, 16, h),
            )
            out[name] = _per_op(run, cpu, (200, 201, 204))
            out[name]["kernel_share"] = self._kernel("small-upload", server)
            log(f"4 KiB uploads, {name}: {out[name]}")
        self.results["small_upload"] = out

    def small_download(self) -> None:
        body = os.urandom(SMALL)
        targets: list[tuple[str, ManagedServer, str, dict[str, str]]] = []
        for name, fb, auth in self.filebays:
            made = httpx.put(f"{fb.base}/api/upload/get.bin", content=body, headers=auth)
            made.raise_for_status()
            targets.append((name, fb, f"/api/files/{made.json()['id']}/content", auth))
        self.minimal.root.mkdir(parents=True, exist_ok=True)
        (self.minimal.root / "get.bin").write_bytes(body)
        targets.insert(0, ("minimal", self.minimal, "/files/get.bin", {}))
        if self.nginx:
            (self.nginx.www / "get.bin").write_bytes(body)
            targets.append(("nginx", self.nginx, "/get.bin", {}))
        out: dict[str, Any] = {}
        for name, server, path, headers in targets:
            url = f"{server.base}{path}"  # type: ignore[attr-defined]
            check = httpx.get(url, headers=headers)
            assert check.content == body, (name, check.status_code)
            data, cpu = self._measured(
                server,
                "small-download",
                lambda url=url, headers=headers: loadgen.wrk_get(
                    url, 32, self.args.seconds, headers, self.work
                ),
            )
            bad = data["status"] + data["read"] + data["connect"] + data["timeout"]
            out[name] = {
                "per_s": data["per_s"],
                "cpu_us_per_op": round(cpu / data["requests"] * 1e6) if data["requests"] else None,
                "p50_ms": data["p50_ms"],
                "p99_ms": data["p99_ms"],
                "errors": bad,
                "kernel_share": self._kernel("small-download", server),
            }
            log(f"4 KiB downloads, {name}: {out[name]}")
        self.results["small_download"] = out

    def breakdown(self) -> None:
        """Where a 4 KiB download's CPU goes, by A/B on filebay alone: the bare stack, then
        authentication, a catalog read, and the bytes on top."""
        made = httpx.put(
            f"{self.filebay.base}/api/upload/ab.bin", content=os.urandom(SMALL), headers=self.auth
        )
        made.raise_for_status()
        file_id = made.json()["id"]
        steps = [
            ("healthz", "/healthz", {}),
            ("me (auth)", "/api/me", self.auth),
            ("record (auth + catalog)", f"/api/files/{file_id}", self.auth),
            ("content (auth + catalog + blob)", f"/api/files/{file_id}/content", self.auth),
        ]
        out: dict[str, Any] = {}
        for label, path, headers in steps:
            url = f"{self.filebay.base}{path}"
            assert httpx.get(url, headers=headers).status_code == 200, label
            data, cpu = self._measured(
                self.filebay,
                f"breakdown-{label.split()[0]}",
                lambda url=url, headers=headers: loadgen.wrk_get(
                    url, 32, self.args.seconds, headers, self.work
                ),
            )
            out[label] = {
                "per_s": data["per_s"],
                "cpu_us_per_op": round(cpu / data["requests"] * 1e6) if data["requests"] else None,
            }
            log(f"breakdown, {label}: {out[label]}")
        self.results["breakdown"] = out

    def _big_file(self) -> Path:
        path = self.work / "big.bin"
        if not path.exists():
            loadgen.random_file(path, self.args.size_mib * MIB)
        return path

    def hash_cost(self) -> None:
        path = self._big_file()
        digest = hashlib.sha256()
        started = time.process_time()
        with path.open("rb") as fh:
            while chunk := fh.read(MIB):
                digest.update(chunk)
        self.results["sha256_cpu_s"] = round(time.process_time() - started, 3)
        log(f"SHA-256 of {self.args.size_mib} MiB here: {self.results['sha256_cpu_s']} s CPU")

    def put(self) -> None:
        path = self._big_file()
        size = path.stat().st_size
        plans: list[tuple[str, ManagedServer, list[str], str, dict[str, str]]] = [
            ("minimal", self.minimal, ["-T", str(path)], "/upload/big.bin", {}),
            *(
                (name, fb, ["-T", str(path)], "/api/upload/big.bin", auth)
                for name, fb, auth in self.filebays
            ),
            (
                "tus-node",
                self.tus,
                ["-X", "POST", "-T", str(path)],
                "/files",
                {**TUS_HEADERS, "Upload-Length": str(size)},
            ),
        ]
        if self.nginx:
            plans.append(("nginx", self.nginx, ["-T", str(path)], "/big.bin", {}))
        out: dict[str, Any] = {}
        for name, server, args, target, headers in plans:
            url = f"{server.base}{target}"  # type: ignore[attr-defined]
            done, cpu = self._measured(
                server,
                "put",
                lambda args=args, url=url, headers=headers: loadgen.curl(args, url, headers, 900),
            )
            assert done.status in (200, 201, 204), (name, done.status)
            out[name] = {"mb_s": round(size / MB / done.seconds, 1), "server_cpu_s": round(cpu, 3)}
            out[name]["kernel_share"] = self._kernel("put", server)
            log(f"{self.args.size_mib} MiB PUT, {name}: {out[name]}")
        self.results["put"] = out

    def get(self) -> None:
        path = self._big_file()
        size = path.stat().st_size
        made = loadgen.curl(
            ["-T", str(path)],
            f"{self.filebay.base}/api/upload/bigget.bin",
            self.auth,
            900,
            self.work / "made.json",
        )
        file_id = json.loads(made.body)["id"]
        self.minimal.root.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self.minimal.root / "big.bin")
        targets: list[tuple[str, ManagedServer, str, dict[str, str]]] = [
            ("minimal", self.minimal, "/files/big.bin", {}),
            ("filebay", self.filebay, f"/api/files/{file_id}/content", self.auth),
        ]
        if self.nginx:
            shutil.copyfile(path, self.nginx.www / "big.bin")
            targets.append(("nginx", self.nginx, "/big.bin", {}))
        out: dict[str, Any] = {}
        for name, server, target, headers in targets:
            url = f"{server.base}{target}"  # type: ignore[attr-defined]
            loadgen.curl([], url, headers, 900)  # warm the page cache alike
            done, cpu = self._measured(
                server, "get", lambda url=url, headers=headers: loadgen.curl([], url, headers, 900)
            )
            assert done.status == 200 and done.bytes_down == size, (name, done.status)
            out[name] = {"mb_s": round(size / MB / done.seconds, 1), "server_cpu_s": round(cpu, 3)}
            out[name]["kernel_share"] = self._kernel("get", server)
            log(f"{self.args.size_mib} MiB GET, {name}: {out[name]}")
        self.results["get"] = out


PHASES = {
    "small-upload": Bench.small_upload,
    "small-download": Bench.small_download,
    "put": Bench.put,
    "get": Bench.get,
    "breakdown": Bench.breakdown,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB, 500 small uploads, 3 s")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=2000, help="4 KiB uploads per server")
    parser.add_argument("--seconds", type=float, default=5, help="wrk run per server")
    parser.add_argument("--only", default=",".join(p for p in PHASES if p != "breakdown"))
    parser.add_argument("--profile", type=Path, help="py-spy stacks of filebay into this dir")
    parser.add_argument("--filebay-workers", type=int, default=1)
    parser.add_argument(
        "--also-workers", type=int, help="also run filebay with this many worker processes"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a source tree of filebay to run beside (filebay-before)"
    )
    parser.add_argument("--tmp-dir")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.small, args.seconds = 128, 500, 3
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        bench = Bench(args)
        for phase in args.only.split(","):
            PHASES[phase](bench)
            if phase == "put":
                bench.hash_cost()
    finally:
        CLEANUP.run()
    text = json.dumps(bench.results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
