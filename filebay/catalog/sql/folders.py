"""Folders on SQL: records with a parent, names claimed in ``entry_names``, paths built by
walking up. Moving a folder changes one row (its children follow by reference)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, func, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.cursor import Cursor, decode_cursor, encode_cursor
from filebay.catalog.files import ROOT, FileRecord, OnConflict, SortKey
from filebay.catalog.folders import (
    ROOT_WORD,
    Crumb,
    Entry,
    FolderInfo,
    FolderRecord,
    ItemsPage,
    Removed,
)
from filebay.catalog.sql import tree
from filebay.catalog.sql.engine import SessionRunner
from filebay.catalog.sql.files import (
    _shared_ids,
    _to_record,
    displace,
    unavailable_on_db_errors,
)
from filebay.catalog.sql.models import FileRow, FolderRow, NameRow, ShareRow
from filebay.errors import FolderCycle, InvalidCursor, NotFound
from filebay.ids import is_valid_id, new_id
from filebay.names import split_path

# Folders have no size: by size, they come by name (and files after them, by size).
_FOLDER_SORT = {
    SortKey.size: SortKey.name,
    SortKey.size_desc: SortKey.name,
}
#: Cursor of a page that ends on a folder / on a file; "f" alone: files from the start.
_IN_FOLDERS, _IN_FILES = "d", "f"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _record(row: FolderRow, parent_path: str) -> FolderRecord:
    return FolderRecord(
        id=row.id,
        owner=row.owner,
        name=row.name,
        parent_id=row.parent_id,
        path=f"{parent_path}/{row.name}",
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _root(owner: str) -> FolderRecord:
    return FolderRecord(ROOT_WORD, owner, "", ROOT, "/", _EPOCH, _EPOCH)


def _after(columns: tuple[ColumnElement, ColumnElement], cur: Cursor, descending: bool):  # type: ignore[no-untyped-def]
    key = tuple_(*columns)
    value = tuple_(literal(cur.value, columns[0].type), literal(cur.last_id, columns[1].type))
    return key < value if descending else key > value


def _order(column: ColumnElement, id_column: ColumnElement, descending: bool):  # type: ignore[no-untyped-def]
    return (column.desc(), id_column.desc()) if descending else (column, id_column)


def _lock_owner_tree(session: Session, owner: str) -> None:
    """Folder moves of one owner take turns (PostgreSQL): two crossing moves, each checked
    alone, could otherwise build a cycle together. SQLite has a single writer already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:o))"), {"o": f"tree:{owner}"})


class SqlFolders:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._run = SessionRunner.for_engine(engine)
        #: As ``SqlCatalog.keep_trash``: a file a move replaces goes to the trash.
        self.keep_trash = True

    @unavailable_on_db_errors
    async def create(self, owner: str, parent_id: str, name: str) -> FolderRecord:
        now = datetime.now(UTC)

        def work(session: Session) -> FolderRecord:
            above = tree.above(session, parent_id, owner)
            tree.check_depth(len(above))
            row = FolderRow(
                id=new_id(),
                owner=owner,
                parent_id=parent_id,
                name=name,
                created_at=now,
                updated_at=now,
            )
            tree.claim(session, owner, parent_id, name, row.id, OnConflict.fail)
            session.add(row)
            return _record(row, _path_of(above))

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def get(self, folder_id: str, owner: str) -> FolderRecord:
        def work(session: Session) -> FolderRecord:
            if folder_id == ROOT:
                return _root(owner)
            row = tree.folder_row(session, folder_id, owner)
            return _record(row, _path_of(tree.ancestors(session, row.parent_id)))

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def info(self, folder_id: str, owner: str) -> FolderInfo:
        def work(session: Session) -> FolderInfo:
            if folder_id == ROOT:
                folder = _root(owner)
                crumbs: list[Crumb] = []
                where = [FileRow.owner == owner, FileRow.trash_id.is_(None)]
            else:
                chain = tree.above(session, folder_id, owner, lock=False)
                folder = _record(chain[0], _path_of(chain[1:]))
                crumbs = [Crumb(r.id, r.name) for r in reversed(chain)]
                where = [FileRow.owner == owner, FileRow.folder_id.in_(tree.subtree(folder_id))]
            count, total = session.execute(
                select(func.count(FileRow.id), func.coalesce(func.sum(FileRow.size), 0)).where(
                    *where
                )
            ).one()
            return FolderInfo(folder, [Crumb(ROOT_WORD, ""), *crumbs], int(count), int(total))

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def items(
        self, folder_id: str, owner: str, sort: SortKey, limit: int, cursor: str | None
    ) -> ItemsPage:
        phase, token = (cursor[:1], cursor[1:]) if cursor else (_IN_FOLDERS, "")
        if phase not in (_IN_FOLDERS, _IN_FILES):
            raise InvalidCursor()
        folder_sort = _FOLDER_SORT.get(sort, sort)
        folder_cur = decode_cursor(token, folder_sort) if phase == _IN_FOLDERS and token else None
        file_cur = decode_cursor(token, sort) if phase == _IN_FILES and token else None

        def work(session: Session) -> ItemsPage:
            parent_path = _path_of(tree.above(session, folder_id, owner, lock=False))
            items: list[Entry] = []
            if phase == _IN_FOLDERS:
                rows = self._folders(session, folder_id, owner, folder_sort, folder_cur, limit)
                items.extend(_record(r, parent_path) for r in rows[:limit])
                if len(rows) > limit:
                    last = rows[limit - 1]
                    value = getattr(last, folder_sort.column)
                    return ItemsPage(
                        items, _IN_FOLDERS + encode_cursor(Cursor(folder_sort, value, last.id))
                    )
            room = limit - len(items)
            files = self._files(session, folder_id, owner, sort, file_cur, max(room, 0))
            if room == 0:
                return ItemsPage(items, _IN_FILES if files else None)
            shared = _shared_ids(session, [f.id for f in files[:room]])
            for row in files[:room]:
                record = _to_record(row, row.id in shared)
                items.append(_with_path(record, parent_path))
            next_cursor = None
            if len(files) > room:
                last = files[room - 1]
                value = getattr(last, sort.column)
                next_cursor = _IN_FILES + encode_cursor(Cursor(sort, value, last.id))
            return ItemsPage(items, next_cursor)

        return await self._run.read(work)

    @staticmethod
    def _folders(
        session: Session, parent_id: str, owner: str, sort: SortKey, cur: Cursor | None, limit: int
    ) -> list[FolderRow]:
        column = getattr(FolderRow, sort.column)
        where = [FolderRow.owner == owner, FolderRow.parent_id == parent_id]
        if cur is not None:
            where.append(_after((column, FolderRow.id), cur, sort.descending))
        stmt = (
            select(FolderRow).where(*where).order_by(*_order(column, FolderRow.id, sort.descending))
        )
        return list(session.scalars(stmt.limit(limit + 1)).all())

    @staticmethod
    def _files(
        session: Session, folder_id: str, owner: str, sort: SortKey, cur: Cursor | None, room: int
    ) -> list[FileRow]:
        column = getattr(FileRow, sort.column)
        where = [FileRow.owner == owner, FileRow.folder_id == folder_id, FileRow.trash_id.is_(None)]
        if cur is not None:
            where.append(_after((column, FileRow.id), cur, sort.descending))
        stmt = select(FileRow).where(*where).order_by(*_order(column, FileRow.id, sort.descending))
        return list(session.scalars(stmt.limit(room + 1)).all())

    @unavailable_on_db_errors
    async def update(
        self, folder_id: str, owner: str, *, name: str | None, parent_id: str | None
    ) -> FolderRecord:
        def work(session: Session) -> FolderRecord:
            _lock_owner_tree(session, owner)
            row = tree.folder_row(session, folder_id, owner, lock=True)
            target = row.parent_id if parent_id is None else parent_id
            above = tree.above(session, target, owner)
            if target != row.parent_id:
                if any(r.id == row.id for r in above):
                    raise FolderCycle()
                tree.check_depth(len(above), tree.depth_below(session, row.id))
            new_name = row.name if name is None else name
            if target != row.parent_id or new_name != row.name:
                tree.reclaim(session, owner, target, new_name, row.id, OnConflict.fail)
                row.parent_id, row.name = target, new_name
                row.updated_at = datetime.now(UTC)
            return _record(row, _path_of(above))

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def delete(self, folder_id: str, owner: str) -> Removed:
        def work(session: Session) -> Removed:
            _lock_owner_tree(session, owner)
            tree.folder_row(session, folder_id, owner, lock=True)
            below = tree.subtree(folder_id)
            files = select(FileRow.id).where(FileRow.owner == owner, FileRow.folder_id.in_(below))
            # Set statements, not a loop: a subtree of 100,000 files is a handful of them.
            session.execute(delete(ShareRow).where(ShareRow.file_id.in_(files)))
            # Folder links of the subtree's folders go too.
            session.execute(delete(ShareRow).where(ShareRow.file_id.in_(below)))
            session.execute(
                delete(NameRow).where(NameRow.owner == owner, NameRow.parent_id.in_(below))
            )
            tree.release(session, [folder_id])
            keys = list(
                session.scalars(
                    delete(FileRow)
                    .where(FileRow.owner == owner, FileRow.folder_id.in_(below))
                    .returning(FileRow.blob_key)
                )
            )
            gone = session.execute(
                delete(FolderRow).where(FolderRow.owner == owner, FolderRow.id.in_(below))
            )
            return Removed(folders=gone.rowcount, blob_keys=keys)  # type: ignore[attr-defined]

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def move_file(
        self,
        file_id: str,
        owner: str,
        folder_id: str,
        on_conflict: OnConflict,
        name: str | None = None,
    ) -> FileRecord:
        if not is_valid_id(file_id):
            raise NotFound()

        def work(session: Session) -> FileRecord:
            row = session.scalar(
                select(FileRow)
                .where(FileRow.id == file_id, FileRow.owner == owner, FileRow.trash_id.is_(None))
                .with_for_update()
            )
            if row is None:
                raise NotFound()
            above = tree.above(session, folder_id, owner)
            final, replaced = tree.reclaim(
                session, owner, folder_id, name or row.name, row.id, on_conflict
            )
            now = datetime.now(UTC)
            replaced_keys = displace(session, replaced, now, self.keep_trash) if replaced else []
            row.folder_id, row.name, row.updated_at = folder_id, final, now
            record = _with_path(_to_record(row), _path_of(above))
            if replaced_keys:
                record = replace(record, replaced_blob_key=replaced_keys[0])
            return record

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def resolve(self, owner: str, path: str) -> Entry:
        segments = split_path(path)
        if any("\x00" in s for s in segments):
            # No stored name holds a NUL (they are cleaned away), and PostgreSQL refuses one
            # in a query: answer as SQLite does, not found.
            raise NotFound(f"no such file or folder: {path}")

        def work(session: Session) -> Entry:
            if not segments:
                return _root(owner)
            parent, chain = ROOT, []
            for i, segment in enumerate(segments):
                entry_id = tree.holder(session, owner, parent, segment)
                if entry_id is None:
                    raise NotFound(f"no such file or folder: {path}")
                folder = session.get(FolderRow, entry_id)
                if folder is not None:
                    chain.append(folder)
                    parent = folder.id
                    continue
                if i != len(segments) - 1:
                    raise NotFound(f"no such folder: {path}")
                file_row = session.get(FileRow, entry_id)
                if file_row is None:
                    raise NotFound()
                return _with_path(_to_record(file_row), _path_of(list(reversed(chain))))
            last = chain.pop()
            return _record(last, _path_of(list(reversed(chain))))

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def paths(self, owner: str, folder_ids: set[str]) -> dict[str, str]:
        def work(session: Session) -> dict[str, str]:
            return tree.paths(session, folder_ids)

        return await self._run.read(work)


def _path_of(chain: list[FolderRow]) -> str:
    """The path of the nearest folder of ``chain`` (nearest first); "" for the root."""
    return "".join(f"/{r.name}" for r in reversed(chain))


def _with_path(record: FileRecord, folder_path: str) -> FileRecord:
    return replace(record, path=f"{folder_path}/{record.name}")
