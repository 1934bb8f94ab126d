"""Database engines and how a catalog operation runs on them.

A catalog call used to go through SQLAlchemy's async session over aiosqlite, where every
DBAPI call (cursor, execute, fetch, close, commit) is a round trip to aiosqlite's thread:
measured here, about 1.3 ms of CPU for a one-row lookup. On SQLite an operation now runs
as one synchronous unit of ORM work in a worker thread (one hop, about 0.6 ms); on
PostgreSQL the same unit runs through ``AsyncSession.run_sync`` over asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Engine, Executable, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

#: Work done with one ORM session, inside one transaction.
Work = Callable[[Session], T]


def rowcount(db: Session, stmt: Executable) -> int:
    """How many rows an UPDATE or DELETE touched."""
    result: CursorResult[Any] = db.execute(stmt)  # type: ignore[assignment]
    return int(result.rowcount or 0)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged upload's record survives power loss (NORMAL may drop it).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # SQLite's lower() folds ASCII only; search (name ILIKE) must fold "Ü" like PostgreSQL.
    dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)


#: Execution option of the engine that write units run on.
WRITE_OPTION = "filebay_write"


def _sqlite_own_transactions(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling runs reads outside any transaction and BEGINs
    # only at the first write: a read-then-write unit (a quota check, the last-admin guard)
    # would not see what another process commits meanwhile. ``_sqlite_begin`` begins instead.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    """A write unit takes the database's write lock before its first read (BEGIN IMMEDIATE),
    so what it reads stays true until it commits, across processes too. A read unit gets a
    consistent snapshot (BEGIN)."""
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only: it holds the hashes of every
    password, session, API token and share link. SQLite gives its -wal and -shm files the
    database's own mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # Exists already, or its folder does not (SQLite's own error says so better).
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))


def create_engine(url: str) -> AsyncEngine:
    """An engine with filebay's connection settings for the given URL."""
    if url.startswith("sqlite"):
        _create_private(make_url(url).database)
        # Each aiosqlite connection is a thread: keep enough of them open that concurrent
        # requests never open and close overflow connections (measured: most of the CPU of a
        # small request at 32 connections went there).
        engine = create_async_engine(
            url, connect_args={"timeout": 10}, pool_size=32, max_overflow=32, pool_timeout=10
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def _sqlite_sync_engine(engine: AsyncEngine) -> Engine:
    """A plain pysqlite engine on the same database file as ``engine``."""
    sync = create_sync_engine(
        engine.url.set(drivername="sqlite"),
        # At most the worker threads' count of operations run at once.
        pool_size=8,
        max_overflow=8,
        pool_timeout=10,
        connect_args={"timeout": 10},
    )
    event.listen(sync, "connect", _sqlite_pragmas)
    event.listen(sync, "connect", _sqlite_own_transactions)
    event.listen(sync, "begin", _sqlite_begin)
    return sync


class SessionRunner:
    """Runs ``Work`` in one transaction: read-only work is rolled back, writes committed."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._async = async_sessionmaker(engine, expire_on_commit=False)
        self._closed = False
        self._sync_engine: Engine | None = None
        self._sync: sessionmaker[Session] | None = None
        self._sync_write: sessionmaker[Session] | None = None
        # This process's write units queue here rather than in SQLite's busy handler, which
        # sleeps in steps of up to 100 ms; other processes still meet the database's lock.
        self._write_lock = threading.Lock()
        if engine.dialect.name == "sqlite":
            self._sync_engine = _sqlite_sync_engine(engine)
            self._sync = sessionmaker(self._sync_engine, expire_on_commit=False)
            writer = self._sync_engine.execution_options(**{WRITE_OPTION: True})
            self._sync_write = sessionmaker(writer, expire_on_commit=False)

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> SessionRunner:
        """The runner of ``engine``: every store on one engine shares one (and so one pool
        of SQLite connections)."""
        runner = _RUNNERS.get(engine)
        if runner is None or runner._closed:
            runner = _RUNNERS[engine] = cls(engine)
        return runner

    async def read(self, work: Work[T]) -> T:
        return await self._run(work, commit=False)

    async def write(self, work: Work[T]) -> T:
        return await self._run(work, commit=True)

    async def _run(self, work: Work[T], *, commit: bool) -> T:
        if self._sync is not None:
            if commit:
                return await asyncio.to_thread(self._write_in_thread, work)
            return await asyncio.to_thread(self._in_thread, self._sync, work, False)
        if commit:
            async with self._async.begin() as session:
                return await session.run_sync(work)
        async with self._async() as session:
            return await session.run_sync(work)

    def _write_in_thread(self, work: Work[T]) -> T:
        assert self._sync_write is not None
        with self._write_lock:
            return self._in_thread(self._sync_write, work, True)

    @staticmethod
    def _in_thread(factory: sessionmaker[Session], work: Work[T], commit: bool) -> T:
        if commit:
            with factory.begin() as session:
                return work(session)
        with factory() as session:
            return work(session)

    async def close(self) -> None:
        self._closed = True
        if self._sync_engine is not None:
            await asyncio.to_thread(self._sync_engine.dispose)


_RUNNERS: weakref.WeakKeyDictionary[AsyncEngine, SessionRunner] = weakref.WeakKeyDictionary()


class GroupCommit:
    """Concurrent writes share one transaction: one commit (one fsync) for many of them.

    While one batch commits, the writes that arrive queue up and go together in the next,
    so a lone write waits for nothing and many small uploads cost one fsync per batch, not
    one each. Each ``Work`` runs in a savepoint: a domain error it raises (``QuotaExceeded``,
    ``NameTaken``…) undoes its own changes and is its own answer; the others still commit. When
    the database refuses the batch (an integrity error, say), every write is retried in a
    transaction of its own, so each gets its own outcome.
    """

    MAX_BATCH = 64

    def __init__(self, runner: SessionRunner, database_errors: tuple[type[BaseException], ...]):
        self._runner = runner
        self._database_errors = database_errors
        self._queue: list[tuple[Work[Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, work: Work[T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((work, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        # Shielded: a cancelled caller does not cancel the others' batch (its own write may
        # still commit, which the caller must treat as an unknown outcome).
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.MAX_BATCH], self._queue[self.MAX_BATCH :]
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[Work[Any], asyncio.Future[Any]]]) -> None:
        def work(session: Session) -> list[tuple[bool, Any]]:
            outcomes: list[tuple[bool, Any]] = []
            for item, _future in batch:
                try:
                    # A savepoint each: an item that fails after writing (a name taken
                    # halfway through a multipart upload's files) leaves nothing behind.
                    with session.begin_nested():
                        outcomes.append((True, item(session)))
                except self._database_errors:
                    raise
                except Exception as exc:  # the item's own answer, e.g. QuotaExceeded
                    outcomes.append((False, exc))
            return outcomes

        try:
            outcomes = await self._runner.write(work)
        except self._database_errors as exc:
            if len(batch) == 1:
                outcomes = [(False, exc)]
            else:
                outcomes = [await self._alone(item) for item, _future in batch]
        except BaseException as exc:  # cancelled at shutdown, or a bug: nobody waits forever
            for _item, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_item, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def _alone(self, item: Work[Any]) -> tuple[bool, Any]:
        try:
            return True, await self._runner.write(item)
        except Exception as exc:
            return False, exc
