"""Bench: zip downloads against a single-file download in the same run (DESIGN §8.2).

    python bench/zips.py                       # 1 GiB file, 2,000 files of 4 KiB
    python bench/zips.py --big-mib 256 --small 500 --out bench/zips.json

On one ``filebay serve`` (all-in-one, SQLite, local blobs, logins off):
- the plain download of a 1 GiB file (the baseline), then the zip of the folder holding it
  (``GET /api/folders/{id}/zip``): MB/s of each and their ratio (target ≥ 0.8);
- the zip of a folder of 2,000 files of 4 KiB: MB/s, files/s, and the ratio to the
  baseline (small files are per-file work, not bytes: shown for what it is);
- the server's peak RSS during each zip against its RSS before (flat: the archive is
  streamed, never built);
- the time to the first byte of a resumed download at 90% of each archive (``Range`` +
  ``If-Range``), which must not grow with what lies before it.
The first zip of a folder also computes nothing: CRC-32s were kept on the way in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from servers import CLEANUP, FilebayServer, make_tempdir
from sysmon import RssSampler, process_tree, rss_bytes

REPO = Path(__file__).resolve().parent.parent
MIB = 2**20
MB = 1e6
TARGET_RATIO = 0.8


def log(msg: str) -> None:
    print(f"[zips] {msg}", flush=True)


def filebay_cmd() -> list[str]:
    for candidate in (REPO / ".venv/bin/filebay", Path(sys.prefix) / "bin/filebay"):
        if candidate.exists():
            return [str(candidate)]
    raise SystemExit("filebay console script not found (pip install -e . in the venv)")


def upload_big(http: httpx.Client, base: str, mib: int) -> None:
    block = os.urandom(MIB)

    def body() -> Any:
        for _ in range(mib):
            yield block

    r = http.put(f"{base}/api/upload/big/one.bin", content=body(), timeout=600)
    r.raise_for_status()


def upload_small(base: str, count: int) -> None:
    with httpx.Client(timeout=60) as http:

        def put(i: int) -> None:
            data = i.to_bytes(4, "big") * 1024
            http.put(f"{base}/api/upload/small/f{i:05d}.bin", content=data).raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(count)))


def timed_get(
    http: httpx.Client, url: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Seconds to the first byte and to the last, and the bytes."""
    start = time.perf_counter()
    first = None
    size = 0
    with http.stream("GET", url, headers=headers or {}, timeout=600) as r:
        r.raise_for_status()
        for chunk in r.iter_raw(1 << 20):
            if first is None:
                first = time.perf_counter() - start
            size += len(chunk)
        etag = r.headers.get("etag")
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "ttfb_ms": round((first or seconds) * 1000, 2),
        "bytes": size,
        "mb_s": round(size / seconds / MB, 1),
        "etag": etag,
    }


def zip_figures(http: httpx.Client, srv: FilebayServer, url: str) -> dict[str, Any]:
    idle = rss_bytes(process_tree(srv.pid))
    with RssSampler(srv.pid) as rss:
        whole = timed_get(http, url)
    at = whole["bytes"] * 9 // 10
    resumes = [
        timed_get(http, url, {"Range": f"bytes={at}-", "If-Range": whole["etag"]})["ttfb_ms"]
        for _ in range(5)
    ]
    return {
        "bytes": whole["bytes"],
        "mb_s": whole["mb_s"],
        "rss_before_mib": round(idle / MIB, 1),
        "rss_peak_mib": round(rss.peak / MIB, 1),
        "rss_growth_mib": round((rss.peak - idle) / MIB, 1),
        "resume_at_90pct_ttfb_ms": sorted(resumes)[len(resumes) // 2],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = make_tempdir("filebay-bench-zips-")
    data = work / "data"
    data.mkdir()
    srv = FilebayServer(filebay_cmd(), data, work / "filebay.log")
    CLEANUP.add("stop filebay", srv.stop)
    srv.start()
    base = srv.base
    with httpx.Client() as http:
        log(f"uploading {args.big_mib} MiB and {args.small} files of 4 KiB")
        upload_big(http, base, args.big_mib)
        upload_small(base, args.small)
        big = http.get(f"{base}/api/resolve", params={"path": "/big/one.bin"}).json()
        big_dir = http.get(f"{base}/api/resolve", params={"path": "/big"}).json()
        small_dir = http.get(f"{base}/api/resolve", params={"path": "/small"}).json()
        log("single-file download (baseline)")
        timed_get(http, f"{base}/api/files/{big['id']}/content")  # warm the page cache
        single = timed_get(http, f"{base}/api/files/{big['id']}/content")
        log("zip of the big folder")
        big_zip = zip_figures(http, srv, f"{base}/api/folders/{big_dir['id']}/zip")
        log("zip of the small files")
        small_zip = zip_figures(http, srv, f"{base}/api/folders/{small_dir['id']}/zip")
    srv.stop()
    small_zip["files_s"] = round(args.small / (small_zip["bytes"] / small_zip["mb_s"] / MB), 1)
    result = {
        "single_download_mb_s": single["mb_s"],
        "big_zip": big_zip,
        "big_zip_ratio": round(big_zip["mb_s"] / single["mb_s"], 3),
        "small_zip": small_zip,
        "small_zip_ratio": round(small_zip["mb_s"] / single["mb_s"], 3),
        "target_ratio": TARGET_RATIO,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    try:
        result = run(args)
    finally:
        CLEANUP.run()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
