"""Bench: list a folder of 100,000 entries, and move it, on SQLite and PostgreSQL.

    python bench/folders.py                 # both databases, 2,000 folders + 98,000 files
    python bench/folders.py --only sqlite --folders 200 --files 9800 --requests 50

One folder ``big`` is made through the API; its entries are bulk-inserted straight into
``folders``, ``files`` and ``entry_names`` (the name keys from ``filebay.names.name_key``,
as the server claims them), with the server stopped. Then pages of
``GET /api/folders/{id}/items`` are timed through the real HTTP API: the first page, a
page of folders past the first 1,000, and a page deep in the files (cursors reached with
``limit=1000`` pages), for every sort; p50/p95 ms a page, target p95 < 20 ms. Last,
``PATCH /api/folders/{id}`` moves ``big`` (100,000 entries) back and forth: one UPDATE.
Files have records but no blobs: listing and moving never read a blob.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bulkrows
import httpx
import loadgen
from servers import CLEANUP, FilebayServer, make_tempdir

from filebay.names import name_key  # the key the server claims names by

REPO = Path(__file__).resolve().parent.parent
OWNER = "admin"  # FILEBAY_AUTH=off: every request acts as admin
SORTS = ("name", "-name", "size", "-size", "created_at", "-created_at")
PAGE = 50  # the API's default page size
TARGET_MS = 20.0
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


def log(msg: str) -> None:
    print(f"[folders] {msg}", flush=True)


# --- the rows -------------------------------------------------------------------------------


def entries(parent: str, folders: int, files: int, seed: int) -> Iterator[tuple[str, Any]]:
    """("folder", row) then ("file", row) dicts for ``parent``'s entries: shuffled names
    (sorting is real work), sizes over 16 GiB, one second apart."""
    rnd = random.Random(seed)
    for i in range(folders):
        at = BASE_TIME + timedelta(seconds=i, microseconds=rnd.randrange(1_000_000))
        name = f"{rnd.choice(bulkrows.WORDS)} {i:06d}"
        row = {"id": uuid.uuid4().hex, "owner": OWNER, "parent_id": parent, "name": name}
        yield "folder", {**row, "created_at": at, "updated_at": at}
    for i in range(files):
        at = BASE_TIME + timedelta(seconds=folders + i, microseconds=rnd.randrange(1_000_000))
        ext, ctype = rnd.choice(bulkrows.EXTS)
        name = f"{rnd.choice(bulkrows.WORDS)}-{rnd.choice(bulkrows.WORDS)}-{i:07d}.{ext}"
        file_id = uuid.uuid4().hex
        yield (
            "file",
            {
                "id": file_id,
                "owner": OWNER,
                "name": name,
                "size": rnd.randrange(0, 1 << 34),
                "content_type": ctype,
                "sha256": f"{rnd.getrandbits(256):064x}",
                "blob_key": file_id,
                "created_at": at,
                "updated_at": at,
                "folder_id": parent,
            },
        )


def split_rows(
    parent: str, folders: int, files: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of ``folders``, ``files`` and ``entry_names``."""
    out: dict[str, list[dict[str, Any]]] = {"folder": [], "file": []}
    names = []
    for kind, row in entries(parent, folders, files, seed):
        out[kind].append(row)
        names.append(
            {"owner": OWNER, "parent_id": parent, "name_key": name_key(row["name"]),
             "entry_id": row["id"]}
        )  # fmt: skip
    return out["folder"], out["file"], names


def _columns(table: str, have: list[tuple[str, bool]], rows: list[dict[str, Any]]) -> list[str]:
    """The server's columns of ``table`` (name, may be left out) that the bench fills; one it
    cannot leave out and does not know is an error."""
    known = rows[0] if rows else {}
    unknown = [name for name, optional in have if name not in known and not optional]
    if unknown:
        raise RuntimeError(f"{table}: columns the bench does not fill: {unknown}")
    return [name for name, _ in have if name in known]


def sqlite_fill(db: Path, rows: dict[str, list[dict[str, Any]]]) -> float:
    """Insert ``rows`` (table → rows); seconds taken. Timestamps as the server stores them
    on SQLite: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    con = sqlite3.connect(db, timeout=30)
    try:
        t0 = time.monotonic()
        with con:
            for table, table_rows in rows.items():
                info = con.execute(f"PRAGMA table_info({table})").fetchall()
                have = [(r[1], not r[3] or r[4] is not None) for r in info]
                cols = _columns(table, have, table_rows)
                sql = (
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                )
                con.executemany(sql, ([_sqlite_value(r[c]) for c in cols] for r in table_rows))
        return time.monotonic() - t0
    finally:
        con.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


async def pg_fill(dsn: str, rows: dict[str, list[dict[str, Any]]]) -> float:
    import asyncpg

    con = await asyncpg.connect(dsn, timeout=10)
    try:
        t0 = time.monotonic()
        for table, table_rows in rows.items():
            recs = await con.fetch(
                "SELECT column_name, is_nullable, column_default FROM information_schema.columns"
                " WHERE table_name = $1"
                " AND table_schema = current_schema() ORDER BY ordinal_position",
                table,
            )
            have = [
                (r["column_name"], r["is_nullable"] == "YES" or r["column_default"] is not None)
                for r in recs
            ]
            cols = _columns(table, have, table_rows)
            records = [tuple(r[c] for c in cols) for r in table_rows]
            await con.copy_records_to_table(table, records=records, columns=cols)
        # What autovacuum soon does on a real server after this many new rows.
        for table in rows:
            await con.execute(f"VACUUM ANALYZE {table}")
        return time.monotonic() - t0
    finally:
        await con.close()


# --- the measurements -----------------------------------------------------------------------


def timed_get(http: httpx.Client, url: str, params: dict[str, Any], n: int) -> dict[str, Any]:
    """``n`` sequential GETs (after one warm-up); p50/p95/max ms."""
    first = http.get(url, params=params)
    first.raise_for_status()
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = http.get(url, params=params)
        lat.append(time.perf_counter() - t0)
        r.raise_for_status()
    items = first.json().get("items", [])
    return {
        "p50_ms": round(loadgen.percentile(lat, 50) * 1000, 2),
        "p95_ms": round(loadgen.percentile(lat, 95) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2),
        "requests": n,
        "kinds": sorted({i["kind"] for i in items}),
        "count": len(items),
    }


def cursor_at(http: httpx.Client, url: str, sort: str, position: int) -> str:
    """The cursor after ``position`` entries, reached with pages of 1,000."""
    cursor, seen = None, 0
    while seen < position:
        params: dict[str, Any] = {"sort": sort, "limit": min(1000, position - seen)}
        if cursor:
            params["cursor"] = cursor
        page = http.get(url, params=params).raise_for_status().json()
        seen += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            raise RuntimeError(f"{sort}: the listing ended after {seen} entries")
    assert cursor
    return cursor


def measure(srv: FilebayServer, big: str, dest: str, args: argparse.Namespace) -> dict[str, Any]:
    base = srv.base
    url = f"{base}/api/folders/{big}/items"
    out: dict[str, Any] = {"pages": {}, "move": {}}
    with httpx.Client(timeout=120, headers=srv.headers) as http:
        info = http.get(f"{base}/api/folders/{big}").raise_for_status().json()
        if info["files"] != args.files:
            raise RuntimeError(f"the folder holds {info['files']} files, meant {args.files}")
        # Informational: breadcrumbs and the recursive counts of 100,000 entries (no target).
        out["info"] = timed_get(http, f"{base}/api/folders/{big}", {}, max(5, args.requests // 10))
        # The same request on an empty folder: what any page costs on this machine now.
        res = timed_get(http, f"{base}/api/folders/{dest}/items", {"limit": PAGE}, args.requests)
        out["pages"]["baseline: an empty folder"] = res
        in_folders = min(1000, args.folders // 2)
        deep = args.folders + (args.files * 6) // 10
        for sort in SORTS:
            cases = {
                "first page": {"sort": sort, "limit": PAGE},
                f"after {in_folders} folders": {
                    "sort": sort,
                    "limit": PAGE,
                    "cursor": cursor_at(http, url, sort, in_folders),
                },
                f"deep in files (entry {deep})": {
                    "sort": sort,
                    "limit": PAGE,
                    "cursor": cursor_at(http, url, sort, deep),
                },
            }
            for label, params in cases.items():
                res = timed_get(http, url, params, args.requests)
                out["pages"][f"{sort} / {label}"] = res
                ms = f"p50 {res['p50_ms']:6.2f} ms  p95 {res['p95_ms']:6.2f} ms"
                log(f"{sort:>12} {label:<28} {ms}")
        # Moving the folder: its row changes, the 100,000 entries follow by reference.
        lat = []
        for i in range(args.moves):
            target = dest if i % 2 == 0 else "root"
            t0 = time.perf_counter()
            r = http.patch(f"{base}/api/folders/{big}", json={"parent_id": target})
            lat.append(time.perf_counter() - t0)
            r.raise_for_status()
        moved = http.get(url, params={"limit": 1, "sort": "-name"}).raise_for_status().json()
        out["move"] = {
            "moves": len(lat),
            "p50_ms": round(loadgen.percentile(lat, 50) * 1000, 2),
            "max_ms": round(max(lat) * 1000, 2),
            "path_after": moved["items"][0]["path"],
        }
        log(f"move a folder of {args.folders + args.files} entries: {out['move']}")
    return out


# --- a run on one database ------------------------------------------------------------------


def prepare(srv: FilebayServer) -> tuple[str, str]:
    """The folders ``big`` and ``dest``, made by the server itself."""
    with httpx.Client(timeout=60, headers=srv.headers) as http:
        ids = []
        for name in ("big", "dest"):
            r = http.post(f"{srv.base}/api/folders", json={"name": name})
            r.raise_for_status()
            ids.append(r.json()["id"])
    return ids[0], ids[1]


def run_one(db: str, args: argparse.Namespace, work: Path, cmd: list[str]) -> dict[str, Any]:
    data = work / f"data-{db}"
    data.mkdir()
    url = None
    if db == "postgres":
        name = f"filebay_bench_folders_{uuid.uuid4().hex[:10]}"
        asyncio.run(bulkrows.pg_create(args.pg_dsn, name))
        CLEANUP.add(f"drop {name}", lambda: asyncio.run(bulkrows.pg_drop(args.pg_dsn, name)))
        plain = f"{args.pg_dsn.rsplit('/', 1)[0]}/{name}"
        url = plain.replace("postgresql://", "postgresql+asyncpg://")
    srv = FilebayServer(cmd, data, work / f"filebay-{db}.log", database_url=url)
    CLEANUP.add(f"stop filebay {db}", srv.stop)
    srv.start()
    big, dest = prepare(srv)
    srv.stop()
    folders, files, names = split_rows(big, args.folders, args.files, seed=7)
    rows = {"folders": folders, "files": files, "entry_names": names}
    log(f"{db}: inserting {len(folders)} folders and {len(files)} files")
    if db == "postgres":
        assert url
        seconds = asyncio.run(pg_fill(plain, rows))
    else:
        seconds = sqlite_fill(data / "filebay.db", rows)
    log(f"{db}: inserted in {seconds:.1f} s")
    srv.start()
    try:
        # Other work on the machine shows in every figure: say how busy it was.
        load = os.getloadavg()[0]
        res = {"insert_seconds": round(seconds, 1), **measure(srv, big, dest, args)}
        return {**res, "load_average_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}
    finally:
        srv.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", default="sqlite,postgres", help="sqlite, postgres or both")
    p.add_argument("--folders", type=int, default=2_000)
    p.add_argument("--files", type=int, default=98_000)
    p.add_argument("--requests", type=int, default=100, help="timed requests per page")
    p.add_argument("--moves", type=int, default=10, help="timed moves of the big folder")
    p.add_argument("--pg-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--filebay", help="command that starts filebay (default .venv/bin/filebay)")
    p.add_argument("--out", default=str(REPO / "bench" / "folders-results.json"))
    return p.parse_args(argv)


def summary(results: dict[str, Any]) -> int:
    """The table of p95s; 0 when every page met the target, 2 when one missed it."""
    missed = 0
    print(f"\n{'page':<48} " + " ".join(f"{db:>22}" for db in results))
    labels = next(iter(results.values()))["pages"].keys()
    for label in labels:
        cells = []
        for res in results.values():
            page = res["pages"][label]
            missed += page["p95_ms"] >= TARGET_MS
            cells.append(f"{page['p50_ms']:8.2f} / {page['p95_ms']:8.2f} ms")
        print(f"{label:<48} " + " ".join(f"{c:>22}" for c in cells))
    moves = " ".join(f"{r['move']['p50_ms']:>19.2f} ms" for r in results.values())
    print(f"{'move the folder (PATCH parent_id), p50':<48} {moves}")
    infos = " ".join(f"{r['info']['p50_ms']:>19.2f} ms" for r in results.values())
    print(f"{'GET the folder (recursive counts), p50':<48} {infos}")
    loads = " ".join(f"{r['load_average_1m']!s:>22}" for r in results.values())
    print(f"{'load average (1 min) before / after':<48} {loads}")
    print(f"(p50 / p95 per page of {PAGE}; target p95 < {TARGET_MS:.0f} ms)")
    return 2 if missed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cmd = args.filebay.split() if args.filebay else [str(REPO / ".venv/bin/filebay")]
    os.environ.setdefault("FILEBAY_LOG_LEVEL", "warning")
    work = make_tempdir("filebay-bench-folders-")
    results: dict[str, Any] = {}
    try:
        for db in args.only.split(","):
            results[db] = run_one(db.strip(), args, work, cmd)
    finally:
        CLEANUP.run()
    Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    log(f"results in {args.out}")
    return summary(results)


if __name__ == "__main__":
    raise SystemExit(main())
