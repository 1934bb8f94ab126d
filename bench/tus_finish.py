"""How long finishing a tus upload takes: the last PATCH of a large upload.

    python bench/tus_finish.py [--size-mib 1024] [--chunk-mib 64] [--out FILE]

Starts filebay (FILEBAY_AUTH=off, SQLite, local blobs), uploads a file of random bytes over
tus in ``--chunk-mib`` PATCHes except its last byte, then times the PATCH of that one byte:
what remains of it is the completion (hash, publish, record). Twice:

- ``same process``: every PATCH lands in the server that saw the earlier bytes;
- ``after a restart``: the server is restarted before the last PATCH, which must hash the
  bytes it did not see (a replica, or a restart) once.

Prints and writes JSON with the seconds and the server's CPU seconds of that last PATCH.
The machine may be busy: compare the two figures of one run, not figures across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import CLEANUP, FilebayServer, make_tempdir
from sysmon import cpu_seconds

from run import filebay_cmd, log

MIB = 2**20
TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


def _random_file(path: Path, size: int) -> Path:
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, 16 * MIB)
            fh.write(os.urandom(n))
            left -= n
    return path


def _pieces(path: Path, start: int, end: int) -> Any:
    with path.open("rb") as fh:
        fh.seek(start)
        left = end - start
        while left:
            data = fh.read(min(MIB, left))
            left -= len(data)
            yield data


def _upload_all_but_one(http: httpx.Client, base: str, path: Path, chunk: int) -> str:
    size = path.stat().st_size
    created = http.post(f"{base}/api/tus/", headers={**TUS, "Upload-Length": str(size)})
    assert created.status_code == 201, created.text
    url = f"{base}{created.headers['Location']}"
    offset = 0
    while offset < size - 1:
        end = min(offset + chunk, size - 1)
        answer = http.patch(
            url,
            headers={**PATCH, "Upload-Offset": str(offset)},
            content=_pieces(path, offset, end),
        )
        assert answer.status_code == 204, answer.text
        offset = end
    return url


def _last_patch(http: httpx.Client, server: FilebayServer, url: str, path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    cpu_before = cpu_seconds(server.pid)
    started = time.perf_counter()
    answer = http.patch(
        url,
        headers={**PATCH, "Upload-Offset": str(size - 1)},
        content=_tail_byte(path),
    )
    seconds = time.perf_counter() - started
    assert answer.status_code == 204, answer.text
    cpu = cpu_seconds(server.pid) - cpu_before
    return {"seconds": round(seconds, 3), "server_cpu_s": round(cpu, 3)}


def _tail_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read()


def run(size: int, chunk: int) -> dict[str, Any]:
    work = make_tempdir("filebay-tus-finish-")
    path = _random_file(work / "upload.bin", size)
    server = FilebayServer(filebay_cmd(None), work / "data", work / "filebay.log")
    server.start()
    results: dict[str, Any] = {"size_mib": size // MIB, "chunk_mib": chunk // MIB}
    with httpx.Client(timeout=600) as http:
        url = _upload_all_but_one(http, server.base, path, chunk)
        results["same process"] = _last_patch(http, server, url, path)
        log(f"same process: {results['same process']}")
        url = _upload_all_but_one(http, server.base, path, chunk)
        server.stop()
        server.start()  # on a new port
        url = server.base + url.removeprefix(url.split("/api/", 1)[0])
        results["after a restart"] = _last_patch(http, server, url, path)
        log(f"after a restart: {results['after a restart']}")
    server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=64)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:
        results = run(args.size_mib * MIB, args.chunk_mib * MIB)
    finally:
        CLEANUP.run()
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
