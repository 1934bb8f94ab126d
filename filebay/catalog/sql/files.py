"""The catalog on SQL (SQLAlchemy 2 async): SQLite by default, PostgreSQL via asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.archives import Selection, ZipLink
from filebay.catalog.cursor import Cursor, decode_cursor, encode_cursor
from filebay.catalog.files import ROOT, FileRecord, ListQuery, NewFile, OnConflict, Page
from filebay.catalog.quota import Quota
from filebay.catalog.sql import archives, tree
from filebay.catalog.sql.engine import GroupCommit, SessionRunner, create_engine
from filebay.catalog.sql.migrate import migrate
from filebay.catalog.sql.models import FileRow, ShareRow, TrashRow
from filebay.catalog.sql.quota import enforce_quota
from filebay.errors import BadRequest, CatalogUnavailable, NameTaken, NotFound
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


#: ``get``'s queries, built once with their values bound per call, and answered as plain rows:
#: building the expression and loading an ORM object each time cost more CPU than the rest
#: of a small download's catalog read.
_LIVE = FileRow.__table__.c
_GET = select(FileRow.__table__).where(_LIVE.id == bindparam("file_id"), _LIVE.trash_id.is_(None))
_GET_OWNED = _GET.where(_LIVE.owner == bindparam("owner"))


def _to_record(row: FileRow | Row[Any], shared: bool = False) -> FileRecord:
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
        folder_id=row.folder_id,
        crc32=row.crc32,
    )


def _with_paths(session: Session, records: list[FileRecord]) -> list[FileRecord]:
    """Each record with its ``path``: one walk up for all the page's folders."""
    folder_paths = tree.paths(session, {r.folder_id for r in records})
    return [replace(r, path=f"{folder_paths.get(r.folder_id, '')}/{r.name}") for r in records]


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlCatalog:
    """Direct SQL. Owned by the metadata service (and the all-in-one process)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._run = SessionRunner.for_engine(engine)
        # Records of concurrent uploads are committed together (see GroupCommit).
        self._adds = GroupCommit(self._run, (SQLAlchemyError, OSError))
        #: A file displaced by ``on_conflict=replace`` goes to the trash (False when
        #: FILEBAY_TRASH_DAYS=0: deleted at once, its blob left to the caller).
        self.keep_trash = True

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

        def work(session: Session) -> list[FileRecord]:
            # A finishing tus upload's reservation has the file's id: not counted twice.
            ids = [new.id for new in news]
            enforce_quota(session, owner, quota, sum(n.size for n in news), len(news), ids)
            for folder_id in {new.folder_id for new in news}:
                tree.check_parent(session, folder_id, owner)
            records = []
            for new in news:
                row, replaced = _claimed_row(session, new, now, self.keep_trash)
                _insert_file(session, row)
                records.append(replace(_to_record(row), replaced_blob_key=replaced))
            return _with_paths(session, records)

        # Concurrent uploads share a transaction (GroupCommit); these rows stay together.
        return await self._adds.submit(work)

    @unavailable_on_db_errors
    async def get(self, file_id: str, owner: str | None) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            if owner is None:
                row = session.execute(_GET, {"file_id": file_id}).first()
            else:
                row = session.execute(_GET_OWNED, {"file_id": file_id, "owner": owner}).first()
            if row is None:
                raise NotFound()
            return _with_paths(session, [_to_record(row)])[0]

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def list(self, owner: str | None, query: ListQuery) -> Page:
        sort = query.sort
        column = getattr(FileRow, sort.column)
        conditions = self._scope(owner)
        if not query.include_trash:
            conditions.append(FileRow.trash_id.is_(None))
        if query.q:
            conditions.append(FileRow.name.ilike(f"%{_escape_like(query.q)}%", escape="\\"))
        if query.folder_id is not None:
            conditions.append(FileRow.folder_id == query.folder_id)
        if query.cursor:
            cur = decode_cursor(query.cursor, sort)
            conditions.append(_after(column, cur, sort.descending))
        if query.q and "\x00" in query.q:
            # Stored names never hold NUL; SQLite would cut the pattern there (matching
            # everything) and PostgreSQL would refuse the query.
            return Page([], None)
        order = (column.desc(), FileRow.id.desc()) if sort.descending else (column, FileRow.id)
        stmt = select(FileRow).where(*conditions).order_by(*order).limit(query.limit + 1)

        def work(session: Session) -> tuple[list[FileRow], list[FileRecord]]:
            rows = list(session.scalars(stmt).all())
            shared = _shared_ids(session, [r.id for r in rows[: query.limit]])
            page = [_to_record(r, r.id in shared) for r in rows[: query.limit]]
            return rows, _with_paths(session, page)

        rows, records = await self._run.read(work)
        next_cursor = None
        if len(rows) > query.limit and records:
            last = rows[query.limit - 1]
            next_cursor = encode_cursor(Cursor(sort, getattr(last, sort.column), last.id))
        return Page(records, next_cursor)

    @unavailable_on_db_errors
    async def rename(self, file_id: str, owner: str | None, name: str) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            row = session.scalar(
                select(FileRow)
                .where(FileRow.id == file_id, FileRow.trash_id.is_(None), *self._scope(owner))
                .with_for_update()
            )
            if row is None:
                raise NotFound()
            if name != row.name:
                tree.reclaim(session, row.owner, row.folder_id, name, row.id, OnConflict.fail)
                row.name, row.updated_at = name, datetime.now(UTC)
            return _with_paths(session, [_to_record(row)])[0]

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
            # Deleting a file ends its share links and frees its name, in one transaction.
            session.execute(delete(ShareRow).where(ShareRow.file_id == file_id))
            tree.release(session, [file_id])
            # A file deleted for good from the trash (or with its owner) leaves no item.
            session.execute(
                delete(TrashRow).where(TrashRow.entry_id == file_id, TrashRow.kind == "file")
            )
            return _with_paths(session, [_to_record(row)])[0]

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def ensure_folders(self, owner: str, parent_id: str, names: list[str]) -> str:
        if not names and parent_id == ROOT:
            # Every upload asks; the top of the tree always exists: no transaction.
            return ROOT

        def work(session: Session) -> str:
            return tree.ensure_path(session, owner, parent_id, names)

        for attempt in range(3):
            try:
                return await self._run.write(work)
            except NameTaken:
                # Another request made one of these folders meanwhile: the next try takes it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @unavailable_on_db_errors
    async def select(self, owner: str, file_ids: list[str], folder_ids: list[str]) -> Selection:
        if not all(is_valid_id(i) for i in file_ids) or not all(
            f == ROOT or is_valid_id(f) for f in folder_ids
        ):
            raise NotFound()

        def work(session: Session) -> Selection:
            return archives.select_entries(session, owner, file_ids, folder_ids)

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def set_crc32(self, file_id: str, crc32: int) -> None:
        await self._run.write(lambda session: archives.set_crc32(session, file_id, crc32))

    @unavailable_on_db_errors
    async def create_zip_link(self, token_hash: str, link: ZipLink) -> None:
        now = datetime.now(UTC)
        await self._run.write(lambda session: archives.create_link(session, token_hash, link, now))

    @unavailable_on_db_errors
    async def find_zip_link(self, token_hash: str, now: datetime) -> ZipLink | None:
        return await self._run.read(lambda session: archives.find_link(session, token_hash, now))

    @unavailable_on_db_errors
    async def ping(self) -> None:
        def work(session: Session) -> None:
            session.execute(text("SELECT 1"))

        await self._run.read(work)

    @unavailable_on_db_errors
    async def _records_after(self, last_id: str) -> list[FileRecord]:
        stmt = select(FileRow).where(FileRow.id > last_id).order_by(FileRow.id).limit(1000)

        def work(session: Session) -> list[FileRecord]:
            rows = session.scalars(stmt).all()
            return _with_paths(session, [_to_record(r) for r in rows])

        return await self._run.read(work)

    async def iter_all(self) -> AsyncIterator[FileRecord]:
        last_id = ""
        while True:
            records = await self._records_after(last_id)
            if not records:
                return
            for record in records:
                yield record
            last_id = records[-1].id


#: A plain INSERT of a new file's row: the ORM's unit of work (flush planning, the identity
#: map) cost more CPU than the rest of recording a small upload. ``trash_id`` stays NULL.
_INSERT_FILE = insert(FileRow.__table__)
_FILE_COLUMNS = [c.key for c in FileRow.__table__.columns if c.key != "trash_id"]


def _insert_file(session: Session, row: FileRow) -> None:
    session.execute(_INSERT_FILE, {key: getattr(row, key) for key in _FILE_COLUMNS})


def _claimed_row(
    session: Session, new: NewFile, now: datetime, keep_trash: bool
) -> tuple[FileRow, str | None]:
    """The new file's row under the name it gets in its folder (``new.on_conflict``), and
    the blob key of a file it replaced (None when that file went to the trash)."""
    name, replaced = tree.claim(
        session, new.owner, new.folder_id, new.name, new.id, OnConflict(new.on_conflict)
    )
    replaced_keys = displace(session, replaced, now, keep_trash) if replaced else []
    row = FileRow(
        id=new.id,
        owner=new.owner,
        name=name,
        size=new.size,
        content_type=new.content_type,
        sha256=new.sha256,
        blob_key=new.blob_key,
        created_at=now,
        updated_at=now,
        folder_id=new.folder_id or ROOT,
        crc32=new.crc32,
    )
    return row, (replaced_keys[0] if replaced_keys else None)


def displace(session: Session, file_id: str, now: datetime, keep_trash: bool) -> list[str]:
    """A file replaced by another of its name: to the trash, or (no trash kept) deleted,
    its blob key returned for the caller to delete after the commit."""
    if not keep_trash:
        return tree.remove_files(session, [file_id])
    from filebay.catalog.sql.trash import trash_file_row  # trash builds on this module

    row = session.get(FileRow, file_id)
    if row is not None:
        trash_file_row(session, row, now)
    return []


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
