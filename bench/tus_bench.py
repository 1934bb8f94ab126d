"""tus upload throughput and server memory, next to a multipart POST of the same file.

    python bench/tus_bench.py [--quick] [--size-mib N] [--chunks-mib 8,64] [--out FILE]

Starts filebay (FILEBAY_AUTH=off, SQLite, local blobs) on a loopback port, writes a file of
random bytes (1 GiB; 128 MiB with --quick) and uploads it:

- via tus: POST /api/tus/ then one PATCH per chunk (8 MiB and 64 MiB by default), each
  chunk streamed from the file by a plain httpx client, timed from the POST to the answer of
  the last PATCH (which includes hashing and publishing the file);
- via filebay's own client (``filebay.client.Client.upload``, what ``filebay upload`` runs:
  8 MiB PATCHes, each with its SHA-256 in Upload-Checksum, the whole file's SHA-256
  compared with the record's at the end);
- via multipart POST /api/files, with the same client (streaming the file) and with curl
  (the client bench/run.py uses).

For each: MB/s (1e6 bytes), the server's idle and peak RSS (VmRSS from /proc/<pid>/status,
sampled every 20 ms, summed over the process tree) and CPU seconds; the stored SHA-256 is
checked against the file's. Reuses bench/run.py's helpers (servers, sampling, random file).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
from servers import CLEANUP, FilebayServer, make_tempdir
from sysmon import Measure, process_tree, rss_bytes

from filebay.client import Client
from filebay.client.upload_state import UploadState
from filebay.client.uploader import UploadOptions, read_pieces
from run import copy_seconds, filebay_cmd, log, machine_info

MB = 1e6
MIB = 2**20
READ = MIB  # bytes read from the file and handed to the socket at a time
TUS = {"Tus-Resumable": "1.0.0"}


def _file_range(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb", buffering=0) as fh:
        yield from read_pieces(fh, start, length, READ)


def tus_upload(c: httpx.Client, base: str, path: Path, chunk: int) -> str:
    """One tus upload in PATCHes of ``chunk`` bytes; the file id."""
    size = path.stat().st_size
    name = f"tus-{chunk // MIB}m.bin"
    meta = f"filename {base64.b64encode(name.encode()).decode()}"
    r = c.post(
        f"{base}/api/tus/", headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": meta}
    )
    if r.status_code != 201:
        raise RuntimeError(f"POST /api/tus/: HTTP {r.status_code} {r.text}")
    url = f"{base}{r.headers['Location']}"
    offset = 0
    while offset < size:
        n = min(chunk, size - offset)
        headers = {
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(n),
        }
        r = c.patch(url, headers=headers, content=_file_range(path, offset, n))
        if r.status_code != 204:
            raise RuntimeError(f"PATCH at {offset}: HTTP {r.status_code} {r.text}")
        offset = int(r.headers["Upload-Offset"])
    return url.rsplit("/", 1)[1]


def multipart_httpx(fb: Client, path: Path) -> str:
    with path.open("rb") as fh:
        return fb.upload_multipart([("multipart-httpx.bin", fh)])[0]["id"]


def sdk_upload(fb: Client, path: Path, state: UploadState) -> str:
    """``filebay upload``'s way: checksummed 8 MiB PATCHes, the SHA-256 checked at the end."""
    return fb.upload(path, uploader=fb.uploader(UploadOptions(), state)).file_id


def multipart_curl(base: str, path: Path, timeout: float) -> str:
    part = f"file=@{path};filename=multipart-curl.bin;type=application/octet-stream"
    res = loadgen.curl(["-F", part], f"{base}/api/files", {}, timeout, path.parent / "curl.out")
    if res.status != 201:
        raise RuntimeError(f"curl POST /api/files: HTTP {res.status} {res.body[:200]!r}")
    return str(json.loads(res.body)["files"][0]["id"])


class TusBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.size = (args.size_mib or (128 if args.quick else 1024)) * MIB
        self.chunks = [int(x) * MIB for x in args.chunks_mib.split(",")]
        self.rows: list[dict[str, Any]] = []

    def setup(self) -> None:
        self.work = make_tempdir("filebay-tus-bench-", self.args.tmp_dir)
        need = 3 * self.size + 2**30
        free = shutil.disk_usage(self.work).free
        if free < need:
            raise SystemExit(f"need {need / 2**30:.1f} GiB free in {self.work}")
        self.big = self.work / "big.bin"
        log(f"writing {self.size // MIB} MiB of random data to {self.big}")
        self.sha = loadgen.random_file(self.big, self.size)
        data = self.work / "data"
        data.mkdir()
        os.environ["FILEBAY_AUTH"] = "off"
        os.environ.setdefault("FILEBAY_LOG_LEVEL", "warning")
        os.environ["FILEBAY_MAX_UPLOAD_BYTES"] = str(max(self.size * 2, 2**30))
        self.fb = FilebayServer(filebay_cmd(self.args.filebay), data, self.work / "filebay.log")
        self.fb.start()
        self.api = Client(self.fb.base)
        self.client = self.api.http
        self.api.list_files(limit=1)  # warm up
        log(f"filebay on {self.fb.base} (pid {self.fb.pid})")

    def measure(self, label: str, upload: Callable[[], str]) -> None:
        os.sync()
        time.sleep(0.5)
        with Measure(self.fb.pid) as m:
            t0 = time.perf_counter()
            file_id = upload()
            secs = time.perf_counter() - t0
        assert m.usage is not None
        record = self.api.file(file_id)
        ok = record["sha256"] == self.sha and record["size"] == self.size
        row = {
            "upload": label,
            "seconds": round(secs, 2),
            "mb_s": round(self.size / MB / secs, 1),
            **m.usage.as_dict(),
            "sha256_ok": ok,
        }
        self.rows.append(row)
        log(f"{label}: {row}")
        if not ok:
            log(f"PROBLEM: {label}: the stored SHA-256 or size does not match the file")
        self.api.delete_file(file_id)

    def copy_speed(self) -> None:
        secs = copy_seconds(self.big, self.work)
        self.rows.append({"upload": "local copy + fsync", "seconds": round(secs, 2),
                          "mb_s": round(self.size / MB / secs, 1)})  # fmt: skip

    def run(self) -> dict[str, Any]:
        base = self.fb.base
        self.copy_speed()
        for chunk in self.chunks:
            self.measure(
                f"tus, {chunk // MIB} MiB PATCHes (httpx)",
                lambda chunk=chunk: tus_upload(self.client, base, self.big, chunk),
            )
        state = UploadState(self.work / "uploads.json")
        self.measure("filebay upload (client)", lambda: sdk_upload(self.api, self.big, state))
        self.measure("multipart POST (httpx)", lambda: multipart_httpx(self.api, self.big))
        if shutil.which("curl"):
            self.measure("multipart POST (curl)", lambda: multipart_curl(base, self.big, 600))
        return {
            "machine": machine_info(),
            "size_mib": self.size // MIB,
            "start_rss_mib": round(rss_bytes(process_tree(self.fb.pid)) / MIB, 1),
            "results": self.rows,
        }


def render(results: dict[str, Any]) -> str:
    lines = [
        f"tus bench: {results['size_mib']} MiB, {results['machine']['nproc']} CPUs,"
        f" {results['machine']['cpu_model']}",
        f"{'upload':<34} {'s':>7} {'MB/s':>7} {'idle MiB':>9} {'peak MiB':>9} {'growth':>7}"
        f" {'cpu s':>6}  sha",
    ]
    for row in results["results"]:
        lines.append(
            f"{row['upload']:<34} {row['seconds']:>7} {row['mb_s']:>7}"
            f" {row.get('idle_rss_mib', ''):>9} {row.get('peak_rss_mib', ''):>9}"
            f" {row.get('rss_growth_mib', ''):>7} {row.get('cpu_s', ''):>6}"
            f"  {'ok' if row.get('sha256_ok', True) else 'MISMATCH'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB instead of 1 GiB")
    parser.add_argument("--size-mib", type=int, default=None)
    parser.add_argument("--chunks-mib", default="8,64", help="tus PATCH sizes, comma-separated")
    parser.add_argument("--tmp-dir", default=None, help="where the file and data dir go")
    parser.add_argument("--filebay", default=None, help="command that runs filebay")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    bench = TusBench(args)
    try:
        bench.setup()
        results = bench.run()
        bench.api.close()
    finally:
        CLEANUP.run()
    print(render(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r.get("sha256_ok", True) for r in results["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
