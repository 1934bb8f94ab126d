"""Bulk-insert synthetic file records straight into the server's ``files`` table.

The schema belongs to the server (Alembic migrations run on its start), so the
column list is read from the live database and each column is filled by name.
A NOT NULL column without a default that this module does not know is an error:
extend ``KNOWN`` rather than guess.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TABLE = "files"
OWNER = "admin"
WORDS = [
    "report",
    "invoice",
    "photo",
    "holiday",
    "budget",
    "draft",
    "scan",
    "notes",
    "backup",
    "archive",
    "slides",
    "contract",
    "music",
    "video",
    "paper",
    "design",
    "logo",
    "export",
    "meeting",
    "plan",
    "summary",
    "thesis",
]
EXTS = [
    ("pdf", "application/pdf"),
    ("txt", "text/plain"),
    ("jpg", "image/jpeg"),
    ("png", "image/png"),
    ("zip", "application/zip"),
    ("bin", "application/octet-stream"),
]
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class Column:
    name: str
    type: str  # declared type, lower case
    notnull: bool
    has_default: bool


@dataclass
class Row:
    """The logical values of one synthetic record; columns pick from these."""

    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created: datetime


def synth_rows(count: int, seed: int) -> Iterator[Row]:
    rnd = random.Random(seed)
    for i in range(count):
        ext, ctype = EXTS[rnd.randrange(len(EXTS))]
        name = f"{rnd.choice(WORDS)}-{rnd.choice(WORDS)}-{i:07d}.{ext}"
        yield Row(
            id=f"{rnd.getrandbits(128):032x}",
            name=name,
            size=rnd.randrange(0, 1 << 34),
            content_type=ctype,
            sha256=f"{rnd.getrandbits(256):064x}",
            created=BASE_TIME + timedelta(seconds=i, microseconds=rnd.randrange(1_000_000)),
        )


# Column name -> logical value. A column is filled when its name is here.
KNOWN: dict[str, Callable[[Row], Any]] = {
    "id": lambda r: r.id,
    "file_id": lambda r: r.id,
    "owner": lambda r: OWNER,
    "owner_name": lambda r: OWNER,
    "owner_username": lambda r: OWNER,
    "username": lambda r: OWNER,
    "name": lambda r: r.name,
    "filename": lambda r: r.name,
    "name_lower": lambda r: r.name.lower(),
    "name_folded": lambda r: r.name.casefold(),
    "name_key": lambda r: r.name.casefold(),
    "size": lambda r: r.size,
    "size_bytes": lambda r: r.size,
    "content_type": lambda r: r.content_type,
    "mime_type": lambda r: r.content_type,
    "sha256": lambda r: r.sha256,
    "blob_key": lambda r: r.id,
    "storage_key": lambda r: r.id,
    "created_at": lambda r: r.created,
    "updated_at": lambda r: r.created,
    "uploaded_at": lambda r: r.created,
    "modified_at": lambda r: r.created,
}
# Looked up as the id of the 'admin' row in the users table.
OWNER_ID_COLUMNS = {"owner_id", "user_id"}


class SchemaError(RuntimeError):
    pass


def _is_integer(col_type: str) -> bool:
    return any(t in col_type for t in ("int", "serial"))


def _ts_converter(col: Column, template: Any) -> Callable[[datetime], Any]:
    """How to store a UTC datetime in ``col``, mimicking a value the server wrote."""
    if isinstance(template, datetime):
        aware = template.tzinfo is not None
        return (lambda d: d) if aware else (lambda d: d.replace(tzinfo=None))
    if isinstance(template, int | float) and not isinstance(template, bool):
        scale = 1000 if template > 1e11 else 1
        return lambda d: (
            int(d.timestamp() * scale) if isinstance(template, int) else (d.timestamp() * scale)
        )
    if isinstance(template, str):
        try:
            parsed = datetime.fromisoformat(template.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SchemaError(f"{col.name}: unknown timestamp format {template!r}") from exc
        sep = "T" if "T" in template else " "
        spec = "microseconds" if "." in template else "seconds"
        zulu = template.endswith("Z")

        def fmt(d: datetime) -> str:
            v = (d if parsed.tzinfo else d.replace(tzinfo=None)).isoformat(sep, spec)
            return v.replace("+00:00", "Z") if zulu else v

        return fmt
    if "with time zone" in col.type or col.type == "timestamptz":
        return lambda d: d
    if "timestamp" in col.type:  # PostgreSQL without time zone: naive UTC
        return lambda d: d.replace(tzinfo=None)
    # SQLite with no row to copy: SQLAlchemy's DateTime storage format.
    return lambda d: d.replace(tzinfo=None).isoformat(" ", "microseconds")


def plan(
    columns: list[Column], template: dict[str, Any] | None, owner_id: Any
) -> tuple[list[str], Callable[[Row], tuple[Any, ...]]]:
    """Choose the columns to fill and build the row -> tuple function.

    Raises SchemaError for a NOT NULL column with no default that is not known.
    """
    names: list[str] = []
    getters: list[Callable[[Row], Any]] = []
    unknown: list[str] = []
    for col in columns:
        tmpl = (template or {}).get(col.name)
        if col.name in OWNER_ID_COLUMNS:
            value = owner_id if owner_id is not None else tmpl
            if value is None:
                unknown.append(f"{col.name} (no admin user id found)")
                continue
            names.append(col.name)
            getters.append(lambda r, v=value: v)
            continue
        getter = KNOWN.get(col.name)
        if getter is None:
            if col.notnull and not col.has_default:
                unknown.append(col.name)
            continue
        if col.name in ("id", "file_id") and _is_integer(col.type):
            continue  # an integer key is the database's to assign
        if col.name.endswith("_at"):
            conv = _ts_converter(col, tmpl)
            getter = (lambda g, c: lambda r: c(g(r)))(getter, conv)
        elif col.name == "id" and col.type == "uuid":
            getter = lambda r: uuid.UUID(r.id)  # noqa: E731
        elif col.name == "sha256" and ("bytea" in col.type or "blob" in col.type):
            getter = lambda r: bytes.fromhex(r.sha256)  # noqa: E731
        names.append(col.name)
        getters.append(getter)
    if unknown:
        raise SchemaError(
            f"table {TABLE!r} has NOT NULL column(s) without a default that the bench does"
            f" not know how to fill: {', '.join(unknown)}. Add them to KNOWN in"
            f" bench/bulkrows.py. Columns seen: {[c.name for c in columns]}"
        )
    return names, lambda r: tuple(g(r) for g in getters)


# --- SQLite -------------------------------------------------------------------------


def sqlite_insert(db_path: str, count: int, seed: int, batch: int = 50_000) -> dict[str, Any]:
    """Insert ``count`` rows into ``files`` of the SQLite database at ``db_path``."""
    con = sqlite3.connect(db_path, timeout=30)
    try:
        cols = [
            Column(r[1], (r[2] or "").lower(), bool(r[3]) or bool(r[5]), r[4] is not None)
            for r in con.execute(f"PRAGMA table_info({TABLE})")
        ]
        if not cols:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
            raise SchemaError(f"no table {TABLE!r} in {db_path}; objects: {tables}")
        con.row_factory = sqlite3.Row
        row = con.execute(f"SELECT * FROM {TABLE} LIMIT 1").fetchone()
        template = dict(row) if row else None
        con.row_factory = None
        owner_id = None
        if any(c.name in OWNER_ID_COLUMNS for c in cols):
            try:
                r = con.execute("SELECT id FROM users WHERE username = ?", (OWNER,)).fetchone()
                owner_id = r[0] if r else None
            except sqlite3.Error:
                owner_id = None
        names, to_tuple = plan(cols, template, owner_id)
        sql = f"INSERT INTO {TABLE} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        before = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        t0 = time.monotonic()
        con.execute("PRAGMA synchronous=OFF")
        rows = synth_rows(count, seed)
        with con:
            for _ in range(count // batch + 1):
                chunk = [to_tuple(r) for r in itertools.islice(rows, batch)]
                if not chunk:
                    break
                con.executemany(sql, chunk)
        after = con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        return {
            "columns_filled": names,
            "columns_all": [c.name for c in cols],
            "rows_before": before,
            "rows_after": after,
            "insert_seconds": round(time.monotonic() - t0, 1),
        }
    finally:
        con.close()


# --- PostgreSQL ---------------------------------------------------------------------


async def _pg_admin(admin_dsn: str, statement: str) -> None:
    """One statement on the server's admin database (CREATE/DROP DATABASE)."""
    import asyncpg

    con = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await con.execute(statement)
    finally:
        await con.close()


async def pg_create(admin_dsn: str, db: str) -> None:
    await _pg_admin(admin_dsn, f'CREATE DATABASE "{db}"')


async def pg_drop(admin_dsn: str, db: str) -> None:
    await _pg_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


async def pg_insert(dsn: str, count: int, seed: int, batch: int = 100_000) -> dict[str, Any]:
    """COPY ``count`` rows into ``files`` of the PostgreSQL database at ``dsn``."""
    import asyncpg

    con = await asyncpg.connect(dsn, timeout=10)
    try:
        recs = await con.fetch(
            "SELECT column_name, data_type, is_nullable, column_default, is_identity"
            " FROM information_schema.columns WHERE table_name = $1 AND table_schema ="
            " current_schema() ORDER BY ordinal_position",
            TABLE,
        )
        if not recs:
            raise SchemaError(f"no table {TABLE!r} in {dsn}")
        cols = [
            Column(
                r["column_name"],
                r["data_type"].lower(),
                r["is_nullable"] == "NO",
                r["column_default"] is not None or r["is_identity"] == "YES",
            )
            for r in recs
        ]
        row = await con.fetchrow(f"SELECT * FROM {TABLE} LIMIT 1")
        template = dict(row) if row else None
        owner_id = None
        if any(c.name in OWNER_ID_COLUMNS for c in cols):
            try:
                owner_id = await con.fetchval("SELECT id FROM users WHERE username = $1", OWNER)
            except asyncpg.PostgresError:
                owner_id = None
        names, to_tuple = plan(cols, template, owner_id)
        before = await con.fetchval(f"SELECT count(*) FROM {TABLE}")
        t0 = time.monotonic()
        rows = synth_rows(count, seed)
        for _ in range(count // batch + 1):
            chunk = [to_tuple(r) for r in itertools.islice(rows, batch)]
            if not chunk:
                break
            await con.copy_records_to_table(TABLE, records=chunk, columns=names)
        insert_s = time.monotonic() - t0
        # What autovacuum would soon do on a real server with this many new rows.
        t1 = time.monotonic()
        await con.execute(f"VACUUM ANALYZE {TABLE}")
        after = await con.fetchval(f"SELECT count(*) FROM {TABLE}")
        return {
            "columns_filled": names,
            "columns_all": [c.name for c in cols],
            "rows_before": before,
            "rows_after": after,
            "insert_seconds": round(insert_s, 1),
            "vacuum_analyze_seconds": round(time.monotonic() - t1, 1),
        }
    finally:
        await con.close()
