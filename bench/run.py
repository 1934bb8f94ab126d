"""filebay benchmark: filebay against nginx (and a plain local copy) in the same run.

    python bench/run.py [--quick] [--size-mib N] [--out bench/results.json]

See bench/README.md for what each figure means and the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bulkrows
import loadgen
from servers import (
    CLEANUP,
    FilebayServer,
    NginxServer,
    find_nginx,
    make_tempdir,
    nginx_has_dav,
)
from sysmon import Measure, cpu_busy_percent, process_tree, rss_bytes

from filebay.client import ApiError, Client

REPO = Path(__file__).resolve().parent.parent
MB = 1e6
MIB = 2**20
SMALL = 4096

#: What the big uploads are compared with: (key in the results, label).
UPLOAD_PEERS = (
    ("nginx_put", "nginx PUT"),
    ("nginx_put_fsync", "nginx PUT + fsync"),
    ("copy_fsync", "local copy + fsync"),
)

TARGETS = {
    "upload_ratio": 0.6,
    "download_ratio": 0.5,
    "rss_growth_mib": 100.0,
    "small_upload_ratio": 0.5,
    "list_p99_ms": 20.0,
}


# --- small helpers -----------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(argv: list[str]) -> str:
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "not found"

    mem_total = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    except OSError:
        pass
    commit = version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "curl": version(["curl", "--version"]),
        "nginx": version([find_nginx() or "nginx", "-v"]),
        "wrk": version(["wrk", "-v"]),
        "filebay_commit": commit if "fatal" not in commit else "no commit",
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def filebay_cmd(arg: str | None) -> list[str]:
    if arg:
        return arg.split()
    for candidate in (REPO / ".venv/bin/filebay", Path(sys.prefix) / "bin/filebay"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("filebay")
    if found:
        return [found]
    raise SystemExit("filebay console script not found (pip install -e . in the venv)")


def auth_headers() -> dict[str, str]:
    token = os.environ.get("FILEBAY_BENCH_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def api(srv: FilebayServer) -> Client:
    """filebay's Python client on ``srv``, with the bench's token (FILEBAY_BENCH_TOKEN)."""
    return Client(srv.base, os.environ.get("FILEBAY_BENCH_TOKEN"))


def check_status(what: str, got: int, want: tuple[int, ...]) -> None:
    if got not in want:
        hint = " (set FILEBAY_BENCH_TOKEN)" if got == 401 else ""
        raise RuntimeError(f"{what}: HTTP {got}, expected {want}{hint}")


def copy_seconds(src: Path, work: Path) -> float:
    """Seconds a plain copy of ``src`` into ``work`` takes, fsync included: the machine's
    own speed, which filebay's figures are compared with."""
    os.sync()
    dst = work / "copy.bin"
    t0 = time.perf_counter()
    shutil.copyfile(src, dst)
    fsync_path(dst)
    secs = time.perf_counter() - t0
    dst.unlink()
    return secs


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the run -----------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.size = (args.size_mib or (64 if args.quick else 1024)) * MIB
        self.reps = args.reps or 3
        self.small_uploads = args.small_uploads or (200 if args.quick else 2000)
        self.small_downloads = args.small_downloads or (2000 if args.quick else 20000)
        self.rows = args.rows or (100_000 if args.quick else 1_000_000)
        self.headers = auth_headers()
        self.deadline = time.monotonic() + args.max_minutes * 60
        busy = cpu_busy_percent()
        if busy > 15:
            log(f"WARNING: the machine is {busy}% busy before the run; figures will be noisy")
        self.results: dict[str, Any] = {
            "machine": {**machine_info(), "cpu_busy_percent_before": busy},
            "config": {
                "quick": self.quick,
                "size_mib": self.size // MIB,
                "reps": self.reps,
                "small_uploads": self.small_uploads,
                "small_upload_concurrency": 16,
                "small_downloads": self.small_downloads,
                "small_download_concurrency": 32,
                "rows": self.rows,
                "nginx_workers": args.nginx_workers,
                "filebay_workers": args.filebay_workers,
                "auth": "bearer token" if self.headers else "FILEBAY_AUTH=off",
            },
            "results": {},
            "targets": [],
            "checks": [],
            "problems": [],
            "errors": {},
        }
        self.fb: FilebayServer | None = None
        self.ng: NginxServer | None = None
        self.big_id: str | None = None

    # bookkeeping

    def problem(self, text: str) -> None:
        log(f"PROBLEM: {text}")
        self.results["problems"].append(text)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.results["checks"].append({"check": name, "ok": ok, "detail": detail})
        log(f"check {name}: {'ok' if ok else 'FAILED'} {detail}")
        if not ok:
            self.problem(f"check failed: {name}: {detail}")

    def target(self, name: str, value: float | None, limit: float, higher_is_better: bool) -> None:
        ok = None if value is None else (value >= limit if higher_is_better else value < limit)
        sign = ">=" if higher_is_better else "<"
        self.results["targets"].append(
            {"target": name, "value": value, "want": f"{sign} {limit}", "ok": ok}
        )

    def phase(self, name: str, fn: Callable[[], None]) -> None:
        if name not in self.args.only:
            return
        if time.monotonic() > self.deadline:
            self.results["errors"][name] = "skipped: --max-minutes budget spent"
            log(f"skip {name}: time budget spent")
            return
        log(f"=== {name}")
        t0 = time.monotonic()
        try:
            fn()
        except Exception as exc:
            traceback.print_exc()
            self.results["errors"][name] = f"{type(exc).__name__}: {exc}"
            if self.args.strict:
                raise
        log(f"=== {name} done in {time.monotonic() - t0:.1f}s")

    # setup

    def setup(self) -> None:
        parent = self.args.tmp_dir
        self.work = make_tempdir("filebay-bench-", parent)
        need = self.size * (2 * self.reps + 4) + 2 * 2**30
        free = shutil.disk_usage(self.work).free
        if free < need:
            raise SystemExit(
                f"need {need / 2**30:.1f} GiB free in {self.work}, have {free / 2**30:.1f}"
            )
        self.src = self.work / "src"
        self.src.mkdir()
        self.big = self.src / "big.bin"
        log(f"writing {self.size // MIB} MiB of random data to {self.big}")
        self.big_sha = loadgen.random_file(self.big, self.size)
        self.small_body = os.urandom(SMALL)

        nginx = find_nginx()
        if not nginx or not nginx_has_dav(nginx):
            raise SystemExit("nginx with the dav module is needed: apt-get install -y nginx")
        (self.work / "nginx").mkdir()
        self.ng = NginxServer(nginx, self.work / "nginx", self.args.nginx_workers)
        self.ng.start()
        log(f"nginx on {self.ng.base} (pid {self.ng.pid})")

        self.fb_data = self.work / "filebay-sqlite"
        self.fb_data.mkdir()
        self.fb = FilebayServer(
            filebay_cmd(self.args.filebay),
            self.fb_data,
            self.work / "filebay-sqlite.log",
            token=os.environ.get("FILEBAY_BENCH_TOKEN"),
            workers=self.args.filebay_workers,
        )
        self.fb.start()
        log(f"filebay on {self.fb.base} (pid {self.fb.pid})")
        self.results["results"]["filebay_start_rss_mib"] = round(
            rss_bytes(process_tree(self.fb.pid)) / MIB, 1
        )
        # One request to warm the app up (imports, DB connection) before idle RSS is read.
        with api(self.fb) as fb:
            fb.list_files(limit=1)

    # 1. single-stream upload

    def big_upload(self) -> None:
        assert self.fb and self.ng
        out = self.work / "resp.json"
        runs: dict[str, list[dict[str, Any]]] = {
            "nginx_put": [],
            "nginx_put_fsync": [],
            "copy_fsync": [],
            "filebay_multipart": [],
            "filebay_raw": [],
        }
        timeout = max(600.0, self.size / MB)  # at least 1 MB/s before curl gives up
        keep: list[str] = []
        for rep in range(self.reps):
            name = f"big-{rep}.bin"
            # nginx WebDAV PUT (and the fsync it does not do, timed separately)
            os.sync()
            with Measure(self.ng.pid) as m:
                res = loadgen.curl(["-T", str(self.big)], f"{self.ng.base}/{name}", {}, timeout)
            check_status("nginx PUT", res.status, (201, 204))
            dest = self.ng.www / name
            if dest.stat().st_size != self.size:
                raise RuntimeError(f"nginx stored {dest.stat().st_size} bytes, sent {self.size}")
            t0 = time.perf_counter()
            fsync_path(dest)
            fsync_s = time.perf_counter() - t0
            assert m.usage
            runs["nginx_put"].append(
                {"seconds": res.seconds, "mb_s": self.size / MB / res.seconds, **m.usage.as_dict()}
            )
            total = res.seconds + fsync_s
            runs["nginx_put_fsync"].append({"seconds": total, "mb_s": self.size / MB / total})
            if rep < self.reps - 1:
                dest.unlink()
            else:
                os.replace(dest, self.ng.www / "big.bin")

            # plain local copy on the same filesystem, with fsync
            secs = copy_seconds(self.big, self.work)
            runs["copy_fsync"].append({"seconds": secs, "mb_s": self.size / MB / secs})

            # filebay multipart POST /api/files
            os.sync()
            part = f"file=@{self.big};filename={name};type=application/octet-stream"
            with Measure(self.fb.pid) as m:
                res = loadgen.curl(
                    ["-F", part], f"{self.fb.base}/api/files", self.headers, timeout, out
                )
            check_status("POST /api/files (multipart)", res.status, (201,))
            rec = json.loads(res.body)["files"][0]
            self._check_record(rec, "multipart", name)
            keep.append(rec["id"])
            assert m.usage
            runs["filebay_multipart"].append(
                {"seconds": res.seconds, "mb_s": self.size / MB / res.seconds, **m.usage.as_dict()}
            )

            # filebay raw PUT /api/upload/<name>
            os.sync()
            with Measure(self.fb.pid) as m:
                res = loadgen.curl(
                    ["-T", str(self.big)],
                    f"{self.fb.base}/api/upload/raw-{name}",
                    self.headers,
                    timeout,
                    out,
                )
            check_status("PUT /api/upload", res.status, (201,))
            rec = json.loads(res.body)
            self._check_record(rec, "raw", f"raw-{name}")
            keep.append(rec["id"])
            assert m.usage
            runs["filebay_raw"].append(
                {"seconds": res.seconds, "mb_s": self.size / MB / res.seconds, **m.usage.as_dict()}
            )
            log(
                "upload rep {}: nginx {:.0f}, copy {:.0f}, multipart {:.0f},"
                " raw {:.0f} MB/s".format(
                    rep,
                    runs["nginx_put"][-1]["mb_s"],
                    runs["copy_fsync"][-1]["mb_s"],
                    runs["filebay_multipart"][-1]["mb_s"],
                    runs["filebay_raw"][-1]["mb_s"],
                )
            )
        self.big_id = keep.pop()  # the last raw upload is the download subject
        with api(self.fb) as fb:
            for fid in keep:
                try:
                    fb.delete_file(fid)
                except ApiError as exc:
                    self.problem(f"DELETE /api/files/{fid}: {exc.message}, expected 204")

        best = {k: max(v, key=lambda x: x["mb_s"]) for k, v in runs.items()}
        rss = {
            k: max(x["rss_growth_mib"] for x in v)
            for k, v in runs.items()
            if v and "rss_growth_mib" in v[0]
        }
        summary = {
            k: {
                "mb_s": round(best[k]["mb_s"], 1),
                "seconds": round(best[k]["seconds"], 3),
                **({"max_rss_growth_mib": rss[k]} if k in rss else {}),
                **{
                    f: best[k][f] for f in ("idle_rss_mib", "peak_rss_mib", "cpu_s") if f in best[k]
                },
            }
            for k in runs
        }
        for k in ("filebay_multipart", "filebay_raw"):
            for peer, _label in UPLOAD_PEERS:
                summary[k][f"ratio_vs_{peer}"] = ratio(summary[k]["mb_s"], summary[peer]["mb_s"])
        self.results["results"]["upload"] = {"best_of": self.reps, **summary, "runs": runs}
        for k, label in (("filebay_multipart", "multipart"), ("filebay_raw", "raw PUT")):
            self.target(
                f"upload {label} / nginx PUT",
                summary[k]["ratio_vs_nginx_put"],
                TARGETS["upload_ratio"],
                True,
            )
            self.target(
                f"upload {label} RSS growth MiB",
                summary[k]["max_rss_growth_mib"],
                TARGETS["rss_growth_mib"],
                False,
            )

    def _check_record(self, rec: dict[str, Any], how: str, name: str) -> None:
        ok = rec.get("sha256") == self.big_sha and rec.get("size") == self.size
        self.check(
            f"{how} upload record sha256/size",
            ok,
            f"sha256 {rec.get('sha256')} size {rec.get('size')} name {rec.get('name')!r}",
        )
        missing = {"id", "name", "size", "content_type", "sha256", "created_at"} - rec.keys()
        if missing:
            self.problem(f"{how} upload record lacks {sorted(missing)}")
        if rec.get("name") != name:
            self.problem(f"{how} upload stored name {rec.get('name')!r}, sent {name!r}")

    # 2. single-stream download and Range

    def big_download(self) -> None:
        assert self.fb and self.ng
        if self.big_id is None:  # run alone: upload the subject first
            res = loadgen.curl(
                ["-T", str(self.big)],
                f"{self.fb.base}/api/upload/big.bin",
                self.headers,
                600,
                self.work / "resp.json",
            )
            check_status("PUT /api/upload", res.status, (201,))
            self.big_id = json.loads(res.body)["id"]
            shutil.copyfile(self.big, self.ng.www / "big.bin")
        timeout = max(600.0, self.size / MB)
        runs: dict[str, list[dict[str, Any]]] = {"nginx_get": [], "filebay_get": []}
        for _ in range(self.reps):
            for key, srv, url in (
                ("nginx_get", self.ng, f"{self.ng.base}/big.bin"),
                ("filebay_get", self.fb, f"{self.fb.base}/api/files/{self.big_id}/content"),
            ):
                with Measure(srv.pid) as m:
                    res = loadgen.curl([], url, srv.headers, timeout)
                check_status(f"GET {url}", res.status, (200,))
                if res.bytes_down != self.size:
                    raise RuntimeError(f"GET {url}: {res.bytes_down} bytes, want {self.size}")
                assert m.usage
                runs[key].append(
                    {
                        "seconds": res.seconds,
                        "mb_s": self.size / MB / res.seconds,
                        **m.usage.as_dict(),
                    }
                )
            log(
                f"download: nginx {runs['nginx_get'][-1]['mb_s']:.0f},"
                f" filebay {runs['filebay_get'][-1]['mb_s']:.0f} MB/s"
            )
        best = {k: max(v, key=lambda x: x["mb_s"]) for k, v in runs.items()}
        summary = {
            k: {
                "mb_s": round(b["mb_s"], 1),
                "seconds": round(b["seconds"], 3),
                "max_rss_growth_mib": max(x["rss_growth_mib"] for x in runs[k]),
                "cpu_s": b["cpu_s"],
            }
            for k, b in best.items()
        }
        summary["filebay_get"]["ratio_vs_nginx"] = ratio(
            summary["filebay_get"]["mb_s"], summary["nginx_get"]["mb_s"]
        )
        self.results["results"]["download"] = {"best_of": self.reps, **summary, "runs": runs}
        self.target(
            "download / nginx GET",
            summary["filebay_get"]["ratio_vs_nginx"],
            TARGETS["download_ratio"],
            True,
        )
        self.target(
            "download RSS growth MiB",
            summary["filebay_get"]["max_rss_growth_mib"],
            TARGETS["rss_growth_mib"],
            False,
        )
        self.range_checks()

    def range_checks(self) -> None:
        assert self.fb
        url = f"/api/files/{self.big_id}/content"
        with open(self.big, "rb") as f:
            f.seek(1000)
            want = f.read(1000)
        with api(self.fb) as fb:
            c = fb.http  # raw answers: these checks are about the HTTP headers themselves
            r = c.get(url, headers={"Range": "bytes=1000-1999"})
            self.check(
                "Range bytes=1000-1999 -> 206 with the exact bytes",
                r.status_code == 206 and r.content == want,
                f"HTTP {r.status_code}, {len(r.content)} bytes,"
                f" Content-Range {r.headers.get('content-range')!r}",
            )
            self.check(
                "Content-Range header",
                r.headers.get("content-range") == f"bytes 1000-1999/{self.size}",
                repr(r.headers.get("content-range")),
            )
            h = c.head(url)
            etag = h.headers.get("etag")
            self.check("HEAD ETag is the sha256", etag == f'"{self.big_sha}"', repr(etag))
            if etag:
                r = c.get(url, headers={"If-None-Match": etag})
                self.check("If-None-Match -> 304", r.status_code == 304, f"HTTP {r.status_code}")
            r = c.get(url, headers={"Range": f"bytes={self.size + 10}-"})
            self.check(
                "unsatisfiable Range -> 416 with bytes */size",
                r.status_code == 416 and r.headers.get("content-range") == f"bytes */{self.size}",
                f"HTTP {r.status_code}, Content-Range {r.headers.get('content-range')!r}",
            )
        # A client that sends 'Expect: 100-continue' (curl does above 1 MiB) must not wait
        # for its 1 s fallback timer.
        two = self.work / "two-mib.bin"
        two.write_bytes(os.urandom(2 * MIB))
        res = loadgen.curl(
            ["-T", str(two)], f"{self.fb.base}/api/upload/expect.bin", self.headers, 60, expect=True
        )
        self.check(
            "Expect: 100-continue answered at once",
            res.status == 201 and res.seconds < 0.5,
            f"HTTP {res.status} in {res.seconds:.3f}s",
        )

    # 3. many small uploads

    def small_upload(self) -> None:
        assert self.fb and self.ng
        n, conc = self.small_uploads, 16
        tag = uuid.uuid4().hex[:8]
        body = self.small_body

        def body_for(i: int) -> bytes:
            return i.to_bytes(8, "big") + body[8:]

        def nginx_req(prefix: str) -> loadgen.PathAndBody:
            return lambda i: (f"/small-{tag}/{prefix}/{i:06d}.bin", body_for(i))

        def fb_req(prefix: str) -> loadgen.PathAndBody:
            return lambda i: (f"/api/upload/{prefix}-{tag}-{i:06d}.bin", body_for(i))

        res: dict[str, Any] = {}
        # Warm-up, not measured.
        loadgen.put_many(self.ng.base, nginx_req("warm"), 50, conc, {})
        loadgen.put_many(self.fb.base, fb_req("warm"), 50, conc, self.headers)

        # Is the client the bottleneck? Both clients against nginx.
        nc = min(n, 2000)
        client_check = {}
        for client in ("raw", "httpx"):
            run = loadgen.put_many(self.ng.base, nginx_req(client), nc, conc, {}, client)
            client_check[client] = run.summary()
        res["client_check_vs_nginx"] = client_check
        log(
            "client check against nginx: raw {} /s, httpx {} /s".format(
                client_check["raw"]["per_s"], client_check["httpx"]["per_s"]
            )
        )

        # Alternating runs, best of each (noise on a shared VM only slows a run down): nginx
        # PUT, filebay raw PUT, and the disk's own durable small-file rate.
        runs: dict[str, list[dict[str, Any]]] = {
            "nginx_put": [],
            "filebay_raw_put": [],
            "local_durable": [],
        }
        wrong = 0
        for rep in range(self.reps):
            with Measure(self.ng.pid) as m:
                ng_run = loadgen.put_many(self.ng.base, nginx_req(f"m{rep}"), n, conc, {})
            assert m.usage
            runs["nginx_put"].append({**ng_run.summary(), **m.usage.as_dict()})
            bad = {k: v for k, v in ng_run.statuses.items() if k not in (201, 204)}
            if bad or ng_run.errors:
                self.problem(f"nginx small PUTs: statuses {bad}, errors {ng_run.errors[:3]}")

            with Measure(self.fb.pid) as m:
                fb_run = loadgen.put_many(
                    self.fb.base, fb_req(f"m{rep}"), n, conc, self.headers, keep_bodies=True
                )
            assert m.usage
            runs["filebay_raw_put"].append({**fb_run.summary(), **m.usage.as_dict()})
            bad = {k: v for k, v in fb_run.statuses.items() if k != 201}
            if bad or fb_run.errors:
                self.problem(f"filebay small PUTs: statuses {bad}, errors {fb_run.errors[:3]}")
            wrong += self._wrong_small_records(fb_run.bodies, body_for)

            durable_dir = self.work / f"durable-{rep}"
            local = loadgen.durable_writes(durable_dir, body_for, n, conc)
            shutil.rmtree(durable_dir, ignore_errors=True)
            runs["local_durable"].append(local.summary())
            log(
                f"small uploads: nginx {runs['nginx_put'][-1]['per_s']}/s,"
                f" filebay {runs['filebay_raw_put'][-1]['per_s']}/s,"
                f" durable local writes {runs['local_durable'][-1]['per_s']}/s"
            )
        self.check(
            "small upload records carry the right sha256",
            wrong == 0,
            f"{wrong} of {n * self.reps} wrong",
        )

        best = {k: max(v, key=lambda x: x["per_s"]) for k, v in runs.items()}
        fb = best["filebay_raw_put"]
        fb["ratio_vs_nginx"] = ratio(fb["per_s"], best["nginx_put"]["per_s"])
        fb["ratio_vs_local_durable"] = ratio(fb["per_s"], best["local_durable"]["per_s"])
        res.update({"best_of": self.reps, **best, "runs": runs})
        self.results["results"]["small_upload"] = res
        self.target(
            "4 KiB uploads / nginx PUT", fb["ratio_vs_nginx"], TARGETS["small_upload_ratio"], True
        )

    def _wrong_small_records(self, bodies: list[bytes], body_for: Callable[[int], bytes]) -> int:
        """How many upload answers do not carry the SHA-256 of the body that was sent."""
        wrong = 0
        for i, raw in enumerate(bodies):
            try:
                rec = json.loads(raw)
                ok = rec.get("sha256") == hashlib.sha256(body_for(i)).hexdigest()
            except (ValueError, AttributeError):
                ok = False
            wrong += not ok
        return wrong

    # 4. many small downloads

    def small_download(self) -> None:
        assert self.fb and self.ng
        if not loadgen.have("wrk"):
            raise RuntimeError("wrk not found: apt-get install -y wrk")
        (self.ng.www / "small4k.bin").write_bytes(self.small_body)
        with api(self.fb) as fb:
            fid = fb.put("small4k.bin", self.small_body)["id"]
            if fb.read(fid) != self.small_body:
                raise RuntimeError("filebay returned other bytes for the 4 KiB file")
        work = self.work / "wrk"
        work.mkdir(exist_ok=True)
        fb_url = f"{self.fb.base}/api/files/{fid}/content"
        # Both servers run for the time filebay needs for the requested count (whole
        # seconds, 2..60), measured by a 1 s calibration run against filebay.
        need, calib = loadgen.wrk_duration_for(
            fb_url, self.small_downloads, 32, self.fb.headers, work
        )
        seconds = min(max(need, 2.0), 60.0)
        res: dict[str, Any] = {"seconds_each": round(seconds), "calibration_per_s": calib}
        for key, srv, url in (
            ("nginx_get", self.ng, f"{self.ng.base}/small4k.bin"),
            ("filebay_get", self.fb, fb_url),
        ):
            with Measure(srv.pid) as m:
                data = loadgen.wrk_get(url, 32, seconds, srv.headers, work)
            assert m.usage
            res[key] = {**data, **m.usage.as_dict()}
            errs = {k: data[k] for k in ("connect", "read", "write", "status", "timeout")}
            if any(errs.values()):
                self.problem(f"wrk against {key}: errors {errs}")
            log(f"small downloads {key}: {data['per_s']}/s over {data['requests']} requests")
        res["filebay_get"]["ratio_vs_nginx"] = ratio(
            res["filebay_get"]["per_s"], res["nginx_get"]["per_s"]
        )
        self.results["results"]["small_download"] = res

    # 5. listing with many rows

    def list_sqlite(self) -> None:
        assert self.fb
        db = self.fb_data / "filebay.db"
        if not db.exists():
            found = sorted(str(p.relative_to(self.fb_data)) for p in self.fb_data.rglob("*.db"))
            raise RuntimeError(f"{db} not found; .db files in the data dir: {found}")
        self._ensure_template_row(self.fb)
        self.fb.stop()
        log(f"inserting {self.rows} rows into {db}")
        info = bulkrows.sqlite_insert(str(db), self.rows, seed=1)
        log(f"inserted in {info['insert_seconds']}s; {info['rows_after']} rows")
        self._check_insert(info)
        self.fb.start()
        res = {"insert": info, **self.list_latency(self.fb)}
        self.results["results"]["list_sqlite"] = res
        self._list_targets("SQLite", res)

    def list_postgres(self) -> None:
        admin_dsn = self.args.pg_dsn
        host = urlsplit(admin_dsn).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise RuntimeError(f"refusing a non-loopback PostgreSQL host {host!r}")
        if self.fb is not None:  # one filebay at a time on two cores
            self.fb.stop()
        db = f"filebay_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(bulkrows.pg_create(admin_dsn, db))
        CLEANUP.add(f"drop database {db}", lambda: asyncio.run(bulkrows.pg_drop(admin_dsn, db)))
        base_dsn = admin_dsn.rsplit("/", 1)[0]
        data = self.work / "filebay-pg"
        data.mkdir()
        srv = FilebayServer(
            filebay_cmd(self.args.filebay),
            data,
            self.work / "filebay-pg.log",
            database_url=f"{base_dsn.replace('postgresql://', 'postgresql+asyncpg://')}/{db}",
            token=os.environ.get("FILEBAY_BENCH_TOKEN"),
        )
        srv.start()
        self._ensure_template_row(srv)
        srv.stop()
        log(f"inserting {self.rows} rows into PostgreSQL database {db}")
        info = asyncio.run(bulkrows.pg_insert(f"{base_dsn}/{db}", self.rows, seed=2))
        log(f"inserted in {info['insert_seconds']}s; {info['rows_after']} rows")
        self._check_insert(info)
        srv.start()
        try:
            res = {"database": db, "insert": info, **self.list_latency(srv)}
        finally:
            srv.stop()
        self.results["results"]["list_postgres"] = res
        self._list_targets("PostgreSQL", res)

    def _check_insert(self, info: dict[str, Any]) -> None:
        added = info["rows_after"] - info["rows_before"]
        if added != self.rows:
            raise RuntimeError(f"bulk insert added {added} rows, meant {self.rows}")

    def _ensure_template_row(self, srv: FilebayServer) -> None:
        """One row written by the server itself, so the bulk rows copy its formats."""
        with api(srv) as fb:
            fb.put("template.txt", b"template row\n")

    def _list_targets(self, db: str, res: dict[str, Any]) -> None:
        for q, v in res["queries"].items():
            if v.get("target", True):
                self.target(f"list {db} {q} p99 ms", v.get("p99_ms"), TARGETS["list_p99_ms"], False)

    def list_latency(self, srv: FilebayServer) -> dict[str, Any]:
        n = self.args.list_requests
        queries: dict[str, Any] = {}
        with api(srv) as fb:

            def get(params: dict[str, Any]) -> dict[str, Any]:
                return dict(fb.list_files(**params))

            first = get({"limit": 50})
            cursor, page = first.get("next_cursor"), 1
            for _ in range(10):  # a page some way in
                if not cursor:
                    break
                nxt = get({"limit": 50, "cursor": cursor})
                page += 1
                if not nxt.get("next_cursor"):
                    break
                cursor = nxt["next_cursor"]
            if not cursor:
                self.problem("GET /api/files gave no next_cursor with many rows")
            cases: list[tuple[str, dict[str, Any], int, bool]] = [
                ("default (-created_at)", {"limit": 50}, n, True),
                ("sort=name", {"limit": 50, "sort": "name"}, n, True),
                ("sort=-size", {"limit": 50, "sort": "-size"}, n, True),
            ]
            if cursor:
                cases.append(
                    (f"cursor (page {page + 1})", {"limit": 50, "cursor": cursor}, n, True)
                )
            # Informational: a name search cannot use a B-tree index; no target.
            cases.append(("q=budget (search)", {"limit": 50, "q": "budget"}, 20, False))
            for label, params, count, is_target in cases:
                lat: list[float] = []
                body = get(params)  # warm-up, and the page we check
                self._check_page(label, params, body)
                stop_at = time.monotonic() + 60
                for _ in range(count):
                    t0 = time.perf_counter()
                    r = fb.http.get("/api/files", params=params)
                    lat.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        raise RuntimeError(f"{label}: HTTP {r.status_code}")
                    if time.monotonic() > stop_at:
                        break
                queries[label] = {
                    "requests": len(lat),
                    "p50_ms": round(loadgen.percentile(lat, 50) * 1000, 2),
                    "p99_ms": round(loadgen.percentile(lat, 99) * 1000, 2),
                    "max_ms": round(max(lat) * 1000, 2),
                    "target": is_target,
                }
                log(
                    f"list {label}: p50 {queries[label]['p50_ms']} ms,"
                    f" p99 {queries[label]['p99_ms']} ms"
                )
        rss = round(rss_bytes(process_tree(srv.pid)) / MIB, 1)
        return {"queries": queries, "server_rss_after_mib": rss}

    def _check_page(self, label: str, params: dict[str, Any], body: dict[str, Any]) -> None:
        items = body.get("items")
        if not isinstance(items, list) or len(items) != params["limit"]:
            if "q" not in params:
                self.problem(f"list {label}: expected {params['limit']} items, got {type(items)}")
            return
        sort = params.get("sort", "-created_at")
        key, desc = sort.lstrip("-"), sort.startswith("-")
        vals = [it.get(key) for it in items]
        if None in vals:
            self.problem(f"list {label}: items lack {key!r}")
            return
        ordered = sorted(vals, reverse=desc)
        if key == "name":  # collations differ on case and punctuation; compare loosely
            ordered = sorted(vals, key=str.casefold, reverse=desc)
            vals_cmp = [v.casefold() for v in vals]
            ok = vals_cmp == [v.casefold() for v in ordered]
        else:
            ok = vals == ordered
        if not ok:
            self.problem(f"list {label}: page is not ordered by {sort}: {vals[:5]}...")

    # report

    def finish(self) -> None:
        self.results["machine"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        out = Path(self.args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.results, indent=2, default=str) + "\n")
        print(render_table(self.results))
        log(f"results written to {out}")


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}{unit}" if abs(v) >= 10 else f"{v:.3g}{unit}"
    return f"{v}{unit}"


def render_table(results: dict[str, Any]) -> str:
    m, r = results["machine"], results["results"]
    lines = [
        "",
        f"filebay bench  {m['date_utc']}  {m['nproc']} cores  {m['cpu_model']}",
        f"config: {results['config']}",
        "",
        f"{'measure':58} {'filebay':>12} {'peer':>12} {'ratio':>7}  peer",
        "-" * 104,
    ]

    def row(label: str, fb: Any, peer: Any, rat: Any, peer_name: str, unit: str = "") -> None:
        lines.append(
            f"{label:58} {_fmt(fb, unit):>12} {_fmt(peer, unit):>12} {_fmt(rat):>7}  {peer_name}"
        )

    def growth_row(label: str, fb: dict[str, Any], peer: dict[str, Any], peer_name: str) -> None:
        key = "max_rss_growth_mib"
        row(f"{label} max RSS growth MiB", fb[key], peer[key], None, peer_name)

    def cpu_row(label: str, fb: dict[str, Any], peer: dict[str, Any], peer_name: str) -> None:
        cpu = fb["cpu_s"], peer["cpu_s"]
        row(f"{label} server CPU s", *cpu, ratio(*cpu), peer_name)

    up = r.get("upload")
    if up:
        for k, lab in (("filebay_multipart", "multipart POST"), ("filebay_raw", "raw PUT")):
            for peer, name in UPLOAD_PEERS:
                row(
                    f"upload {lab} MB/s",
                    up[k]["mb_s"],
                    up[peer]["mb_s"],
                    up[k][f"ratio_vs_{peer}"],
                    name,
                )
            row(
                f"upload {lab} idle / peak RSS MiB",
                f"{up[k]['idle_rss_mib']}/{up[k]['peak_rss_mib']}",
                f"{up['nginx_put']['idle_rss_mib']}/{up['nginx_put']['peak_rss_mib']}",
                None,
                "nginx PUT",
            )
            growth_row(f"upload {lab}", up[k], up["nginx_put"], "nginx PUT")
            cpu_row(f"upload {lab}", up[k], up["nginx_put"], "nginx PUT")
    dl = r.get("download")
    if dl:
        f, n = dl["filebay_get"], dl["nginx_get"]
        row("download MB/s", f["mb_s"], n["mb_s"], f["ratio_vs_nginx"], "nginx GET")
        growth_row("download", f, n, "nginx GET")
        cpu_row("download", f, n, "nginx GET")
    su = r.get("small_upload")
    if su:
        f, n = su["filebay_raw_put"], su["nginx_put"]
        row(
            "4 KiB uploads files/s (c=16)", f["per_s"], n["per_s"], f["ratio_vs_nginx"], "nginx PUT"
        )
        d = su.get("local_durable")
        if d:
            row(
                "4 KiB uploads files/s (c=16)",
                f["per_s"],
                d["per_s"],
                f.get("ratio_vs_local_durable"),
                "durable local writes",
            )
        row("4 KiB uploads p50 ms", f["p50_ms"], n["p50_ms"], None, "nginx PUT")
        row("4 KiB uploads p99 ms", f["p99_ms"], n["p99_ms"], None, "nginx PUT")
        cpu_row("4 KiB uploads", f, n, "nginx PUT")
        cc = su["client_check_vs_nginx"]
        row(
            "  client check vs nginx: raw / httpx per s",
            cc["raw"]["per_s"],
            cc["httpx"]["per_s"],
            None,
            "(client headroom)",
        )
    sd = r.get("small_download")
    if sd:
        f, n = sd["filebay_get"], sd["nginx_get"]
        row(
            "4 KiB downloads req/s (c=32, wrk)",
            f["per_s"],
            n["per_s"],
            f["ratio_vs_nginx"],
            "nginx GET",
        )
        row("4 KiB downloads p50 ms", f["p50_ms"], n["p50_ms"], None, "nginx GET")
        row("4 KiB downloads p99 ms", f["p99_ms"], n["p99_ms"], None, "nginx GET")
    for key, db in (("list_sqlite", "SQLite"), ("list_postgres", "PostgreSQL")):
        lst = r.get(key)
        if lst:
            rows = lst["insert"]["rows_after"]
            for q, v in lst["queries"].items():
                row(
                    f"list {db} {rows:,} rows {q} p50/p99 ms",
                    f"{v['p50_ms']}/{v['p99_ms']}",
                    None,
                    None,
                    "",
                )
    lines += ["", "targets:"]
    for t in results["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "n/a "}[t["ok"]]
        lines.append(f"  {mark}  {t['target']:52} {_fmt(t['value']):>10}  want {t['want']}")
    failed = [c for c in results["checks"] if not c["ok"]]
    lines.append(f"\nchecks: {len(results['checks']) - len(failed)} ok, {len(failed)} failed")
    for c in failed:
        lines.append(f"  FAILED {c['check']}: {c['detail']}")
    if results["problems"]:
        lines.append("problems:")
        lines += [f"  - {p}" for p in results["problems"]]
    if results["errors"]:
        lines.append("phase errors:")
        lines += [f"  - {k}: {v}" for k, v in results["errors"].items()]
    return "\n".join(lines)


PHASES = ["upload", "download", "small-upload", "small-download", "list-sqlite", "list-postgres"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 64 MiB, 200 small uploads, 2,000 downloads, 100k rows",
    )
    p.add_argument("--size-mib", type=int, help="size of the big file (default 1024, quick 64)")
    p.add_argument(
        "--out",
        default=str(REPO / "bench" / "results.json"),
        help="where to write the JSON results",
    )
    p.add_argument("--reps", type=int, help="runs of each big transfer; the best is reported")
    p.add_argument("--small-uploads", type=int, help="number of 4 KiB uploads")
    p.add_argument("--small-downloads", type=int, help="about this many 4 KiB downloads")
    p.add_argument("--rows", type=int, help="rows bulk-inserted for the list test")
    p.add_argument("--list-requests", type=int, default=200, help="requests per list query")
    p.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, of: {','.join(PHASES)}",
    )
    p.add_argument("--filebay", help="command that starts filebay (default .venv/bin/filebay)")
    p.add_argument(
        "--nginx-workers",
        type=int,
        default=1,
        help="nginx worker processes (1: one process, like one filebay server)",
    )
    p.add_argument(
        "--filebay-workers",
        type=int,
        default=1,
        help="filebay worker processes (filebay serve --workers N; RSS and CPU cover them all)",
    )
    p.add_argument(
        "--pg-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin DSN (loopback only); a fresh database is made",
    )
    p.add_argument("--tmp-dir", help="parent of the temp work dir (default: the system's)")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=60.0,
        help="skip the phases not yet started after this many minutes",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first failing phase")
    args = p.parse_args(argv)
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = args.only - set(PHASES)
    if unknown:
        p.error(f"unknown phases {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    try:
        bench.setup()
        bench.phase("upload", bench.big_upload)
        bench.phase("download", bench.big_download)
        bench.phase("small-upload", bench.small_upload)
        bench.phase("small-download", bench.small_download)
        bench.phase("list-sqlite", bench.list_sqlite)
        bench.phase("list-postgres", bench.list_postgres)
    except KeyboardInterrupt:
        bench.results["errors"]["run"] = "interrupted"
        raise
    except Exception as exc:
        traceback.print_exc()
        bench.results["errors"]["run"] = f"{type(exc).__name__}: {exc}"
    finally:
        CLEANUP.run()
        bench.finish()
    failed = bench.results["errors"] or any(t["ok"] is False for t in bench.results["targets"])
    return 1 if bench.results["errors"] else (2 if failed else 0)


if __name__ == "__main__":
    sys.exit(main())
