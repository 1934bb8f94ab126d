"""The catalog on SQL (SQLAlchemy 2 async): SQLite by default, PostgreSQL via asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.cursor import Cursor, decode_cursor, encode_cursor
from filebay.catalog.files import FileRecord, ListQuery, NewFile, Page
from filebay.catalog.quota import Quota
from filebay.catalog.sql.engine import GroupCommit, SessionRunner, create_engine
from filebay.catalog.sql.migrate import migrate
from filebay.catalog.sql.models import FileRow, ShareRow
from filebay.catalog.sql.quota import enforce_quota
from filebay.errors import BadRequest, CatalogUnavailable, NotFound
from filebay.ids import is_valid_id

P = ParamSpec("P")
T = TypeVar("T")


def _refused_value(exc: DBAPIError) -> bool:
    """The database refused a value the caller sent (SQLSTATE class 22, "data exception":
    a NUL character in text on PostgreSQL, a number out of range), rather than being down."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("22")


def unavailable_on_db_errors(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A database that is down or unreachable is a 503, not a 500; a value it refuses is
    the caller's 400, not an outage."""

    @wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except IntegrityError:
            raise
        except DBAPIError as exc:
            if _refused_value(exc):
                raise BadRequest("a value contains characters or numbers not allowed") from exc
            raise CatalogUnavailable() from exc
        except (OSError, ConnectionError, PoolTimeout) as exc:  # pool: all connections busy
            raise CatalogUnavailable() from exc

    return wrapper


def _to_record(row: FileRow, shared: bool = False) -> FileRecord:
    return FileRecord(
        shared=shared,
        id=row.id,
        owner=row.owner,
        name=row.name,
        size=row.size,
        content_type=row.content_type,
        sha256=row.sha256,
        blob_key=row.blob_key,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlCatalog:
    """Direct SQL. Owned by the metadata service (and the all-in-one process)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._run = SessionRunner.for_engine(engine)
        # Records of concurrent uploads are committed together (see GroupCommit).
        self._adds = GroupCommit(self._run, (SQLAlchemyError, OSError))

    @classmethod
    async def open(cls, url: str, *, run_migrations: bool = True) -> SqlCatalog:
        engine = create_engine(url)
        if run_migrations:
            try:
                await migrate(engine)
            except (OperationalError, DBAPIError, OSError) as exc:
                await engine.dispose()
                raise CatalogUnavailable(f"cannot migrate the catalog: {exc}") from exc
        return cls(engine)

    async def close(self) -> None:
        await self._run.close()
        await self.engine.dispose()

    @staticmethod
    def _scope(owner: str | None) -> list[ColumnElement[bool]]:
        return [] if owner is None else [FileRow.owner == owner]

    @unavailable_on_db_errors
    async def owners(self) -> list[str]:
        def work(session: Session) -> list[str]:
            return list(session.scalars(select(FileRow.owner).distinct()).all())

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def usage(self, owner: str) -> int:
        def work(session: Session) -> int:
            return _used_bytes(session, owner)

        return await self._run.read(work)

    async def add(self, new: NewFile, quota: Quota | None = None) -> FileRecord:
        return (await self.add_many([new], quota))[0]

    @unavailable_on_db_errors
    async def add_many(self, news: list[NewFile], quota: Quota | None = None) -> list[FileRecord]:
        if not news:
            return []
        owner = news[0].owner
        if any(new.owner != owner for new in news):
            raise ValueError("add_many records files of one owner")
        now = datetime.now(UTC)
        rows = [
            FileRow(
                id=new.id,
                owner=new.owner,
                name=new.name,
                size=new.size,
                content_type=new.content_type,
                sha256=new.sha256,
                blob_key=new.blob_key,
                created_at=now,
                updated_at=now,
            )
            for new in news
        ]

        def work(session: Session) -> None:
            # A finishing tus upload's reservation has the file's id: not counted twice.
            ids = [r.id for r in rows]
            enforce_quota(session, owner, quota, sum(r.size for r in rows), len(rows), ids)
            session.add_all(rows)

        # Concurrent uploads share a transaction (GroupCommit); these rows stay together.
        await self._adds.submit(work)
        return [_to_record(row) for row in rows]

    @unavailable_on_db_errors
    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            row = session.scalar(select(FileRow).where(FileRow.id == file_id, *self._scope(owner)))
            if row is None:
                raise NotFound()
            return _to_record(row)

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def list(self, owner: str | None, query: ListQuery) -> Page:
        sort = query.sort
        column = getattr(FileRow, sort.column)
        conditions = self._scope(owner)
        if query.q:
            conditions.append(FileRow.name.ilike(f"%{_escape_like(query.q)}%", escape="\\"))
        if query.cursor:
            cur = decode_cursor(query.cursor, sort)
            conditions.append(_after(column, cur, sort.descending))
        if query.q and "\x00" in query.q:
            # Stored names never hold NUL; SQLite would cut the pattern there (matching
            # everything) and PostgreSQL would refuse the query.
            return Page([], None)
        order = (column.desc(), FileRow.id.desc()) if sort.descending else (column, FileRow.id)
        stmt = select(FileRow).where(*conditions).order_by(*order).limit(query.limit + 1)

        def work(session: Session) -> tuple[list[FileRow], set[str]]:
            rows = list(session.scalars(stmt).all())
            return rows, _shared_ids(session, [r.id for r in rows[: query.limit]])

        rows, shared = await self._run.read(work)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = encode_cursor(Cursor(sort, getattr(last, sort.column), last.id))
        return Page([_to_record(r, r.id in shared) for r in rows], next_cursor)

    @unavailable_on_db_errors
    async def rename(self, file_id: str, owner: str | None, name: str) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            row = session.execute(
                update(FileRow)
                .where(FileRow.id == file_id, *self._scope(owner))
                .values(name=name, updated_at=datetime.now(UTC))
                .returning(FileRow)
            ).scalar_one_or_none()
            if row is None:
                raise NotFound()
            return _to_record(row)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def delete(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            row = session.execute(
                delete(FileRow).where(FileRow.id == file_id, *self._scope(owner)).returning(FileRow)
            ).scalar_one_or_none()
            if row is None:
                raise NotFound()
            # Deleting a file ends its share links, in the same transaction.
            session.execute(delete(ShareRow).where(ShareRow.file_id == file_id))
            return _to_record(row)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def ping(self) -> None:
        def work(session: Session) -> None:
            session.execute(text("SELECT 1"))

        await self._run.read(work)

    @unavailable_on_db_errors
    async def _rows_after(self, last_id: str) -> list[FileRow]:
        stmt = select(FileRow).where(FileRow.id > last_id).order_by(FileRow.id).limit(1000)

        def work(session: Session) -> list[FileRow]:
            return list(session.scalars(stmt).all())

        return await self._run.read(work)

    async def iter_all(self) -> AsyncIterator[FileRecord]:
        last_id = ""
        while True:
            rows = await self._rows_after(last_id)
            if not rows:
                return
            for row in rows:
                yield _to_record(row)
            last_id = rows[-1].id


def _used_bytes(session: Session, owner: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(FileRow.size), 0)).where(FileRow.owner == owner)
    )
    return int(total or 0)


def _shared_ids(session: Session, ids: list[str]) -> set[str]:
    """Which of these files have a usable share link (one indexed query per page)."""
    if not ids:
        return set()
    now = datetime.now(UTC)
    found = session.scalars(
        select(ShareRow.file_id)
        .where(
            ShareRow.file_id.in_(ids),
            or_(ShareRow.expires_at.is_(None), ShareRow.expires_at > now),
            or_(ShareRow.max_downloads.is_(None), ShareRow.downloads < ShareRow.max_downloads),
        )
        .distinct()
    )
    return set(found.all())


def _after(column: Any, cur: Cursor, descending: bool) -> ColumnElement[bool]:
    """Rows strictly after the cursor in (sort key, id) order: a row comparison, which both
    PostgreSQL and SQLite answer from the (owner, key, id) index."""
    key = tuple_(column, FileRow.id)
    value = tuple_(literal(cur.value, column.type), literal(cur.last_id, FileRow.id.type))
    return key < value if descending else key > value
