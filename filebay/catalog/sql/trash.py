"""The trash on SQL. A trashed entry keeps its row with ``trash_id`` set; the top entry of an
item leaves the tree (``OUT_OF_TREE`` as its folder, its name freed), so that nothing below
a trashed folder can be reached, and a later delete of the folder it was in cannot take it
along. Every item is taken by one ``DELETE … RETURNING`` of its row, so a restore and a
purge (or two sweepers) racing for it cannot both have it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from filebay.catalog.cursor import Cursor, decode_cursor, encode_cursor
from filebay.catalog.files import ROOT, OnConflict, SortKey
from filebay.catalog.folders import Entry
from filebay.catalog.sql import tree
from filebay.catalog.sql.engine import SessionRunner
from filebay.catalog.sql.files import _to_record, unavailable_on_db_errors
from filebay.catalog.sql.folders import _lock_owner_tree, _path_of, _record, _with_path
from filebay.catalog.sql.models import FileRow, FolderRow, NameRow, ShareRow, TrashRow
from filebay.catalog.trash import Purged, TrashItem, TrashPage
from filebay.errors import NameTaken, NotFound
from filebay.ids import is_valid_id, new_id
from filebay.names import split_path

#: The folder of an item's top entry while it is in the trash (no folder has this id).
OUT_OF_TREE = "trash"
#: ``empty`` purges this many items per transaction.
_EMPTY_BATCH = 200


def _named(item_or_entry_id: str):  # type: ignore[no-untyped-def]
    """An item by its id, or by the id of the file or folder it holds (an "Undo" knows
    only what it deleted)."""
    return or_(TrashRow.id == item_or_entry_id, TrashRow.entry_id == item_or_entry_id)


def _item(row: TrashRow) -> TrashItem:
    return TrashItem(
        id=row.id,
        owner=row.owner,
        kind=row.kind,
        entry_id=row.entry_id,
        name=row.name,
        parent_id=row.parent_id,
        original_path=row.original_path,
        size=row.size,
        deleted_at=row.deleted_at,
    )


def trash_file_row(session: Session, row: FileRow, now: datetime) -> TrashItem:
    """Move a file (row locked by the caller) to the trash, in the caller's transaction."""
    folder_path = tree.paths(session, {row.folder_id}).get(row.folder_id, "")
    item = TrashRow(
        id=new_id(),
        owner=row.owner,
        kind="file",
        entry_id=row.id,
        name=row.name,
        parent_id=row.folder_id,
        original_path=f"{folder_path}/{row.name}",
        size=row.size,
        deleted_at=now,
    )
    session.add(item)
    tree.release(session, [row.id])
    row.folder_id, row.trash_id = OUT_OF_TREE, item.id
    return _item(item)


def trash_folder_rows(session: Session, folder_id: str, owner: str, now: datetime) -> TrashItem:
    _lock_owner_tree(session, owner)
    chain = tree.above(session, folder_id, owner)
    row = chain[0]
    below = tree.subtree(folder_id)
    size = session.scalar(
        select(func.coalesce(func.sum(FileRow.size), 0)).where(
            FileRow.owner == owner, FileRow.folder_id.in_(below)
        )
    )
    item = TrashRow(
        id=new_id(),
        owner=owner,
        kind="folder",
        entry_id=row.id,
        name=row.name,
        parent_id=row.parent_id,
        original_path=_path_of(chain),
        size=int(size or 0),
        deleted_at=now,
    )
    session.add(item)
    session.flush()
    # Set statements: a subtree of 100,000 entries is a handful of them.
    session.execute(
        update(FileRow)
        .where(FileRow.owner == owner, FileRow.folder_id.in_(below))
        .values(trash_id=item.id)
    )
    session.execute(
        update(FolderRow)
        .where(FolderRow.owner == owner, FolderRow.id.in_(tree.subtree(folder_id)))
        .values(trash_id=item.id)
        .execution_options(synchronize_session=False)
    )
    tree.release(session, [row.id])
    session.execute(update(FolderRow).where(FolderRow.id == row.id).values(parent_id=OUT_OF_TREE))
    return _item(item)


def purge_item(session: Session, item_id: str, owner: str | None) -> list[str] | None:
    """The item's records deleted; its blob keys, or None when it is gone already."""
    where = [_named(item_id)] + ([] if owner is None else [TrashRow.owner == owner])
    taken = session.execute(delete(TrashRow).where(*where).returning(TrashRow)).scalar_one_or_none()
    if taken is None:
        return None
    if taken.kind == "file":
        return tree.remove_files(session, [taken.entry_id])
    item_id = taken.id
    files = select(FileRow.id).where(FileRow.trash_id == item_id)
    folders = select(FolderRow.id).where(FolderRow.trash_id == item_id)
    session.execute(delete(ShareRow).where(ShareRow.file_id.in_(files)))
    session.execute(delete(ShareRow).where(ShareRow.file_id.in_(folders)))  # folder links
    session.execute(delete(NameRow).where(NameRow.entry_id.in_(files)))
    session.execute(delete(NameRow).where(NameRow.entry_id.in_(folders)))
    keys = list(
        session.scalars(
            delete(FileRow).where(FileRow.trash_id == item_id).returning(FileRow.blob_key)
        )
    )
    session.execute(delete(FolderRow).where(FolderRow.trash_id == item_id))
    return keys


def _home(session: Session, owner: str, item: TrashRow) -> str:
    """The folder to restore into: where it was, or that path made again (the root when a
    file now stands where a folder of the path was)."""
    if item.parent_id == ROOT:
        return ROOT
    alive = session.scalar(
        select(FolderRow.id).where(
            FolderRow.id == item.parent_id, FolderRow.owner == owner, FolderRow.trash_id.is_(None)
        )
    )
    if alive is not None and item.parent_id != OUT_OF_TREE:
        return item.parent_id
    try:
        return tree.ensure_path(session, owner, ROOT, split_path(item.original_path)[:-1])
    except NameTaken:
        return ROOT


def restore_item(session: Session, item_id: str, owner: str) -> Entry:
    _lock_owner_tree(session, owner)
    taken = session.execute(
        delete(TrashRow).where(_named(item_id), TrashRow.owner == owner).returning(TrashRow)
    ).scalar_one_or_none()
    if taken is None:
        raise NotFound("not in the trash")
    item_id = taken.id
    parent = _home(session, owner, taken)
    above = tree.above(session, parent, owner)
    if taken.kind == "file":
        row = session.get(FileRow, taken.entry_id)
        if row is None:
            raise NotFound("not in the trash")
        row.name, _ = tree.claim(session, owner, parent, row.name, row.id, OnConflict.rename)
        row.folder_id, row.trash_id = parent, None
        return _with_path(_to_record(row), _path_of(above))
    folder = session.get(FolderRow, taken.entry_id)
    if folder is None:
        raise NotFound("not in the trash")
    tree.check_depth(len(above), tree.depth_below(session, folder.id))
    folder.name, _ = tree.claim(session, owner, parent, folder.name, folder.id, OnConflict.rename)
    folder.parent_id = parent
    session.execute(update(FileRow).where(FileRow.trash_id == item_id).values(trash_id=None))
    session.execute(
        update(FolderRow)
        .where(FolderRow.trash_id == item_id)
        .values(trash_id=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.refresh(folder)
    return _record(folder, _path_of(above))


class SqlTrash:
    def __init__(self, engine: AsyncEngine) -> None:
        self._run = SessionRunner.for_engine(engine)

    @unavailable_on_db_errors
    async def trash_file(self, file_id: str, owner: str) -> TrashItem:
        if not is_valid_id(file_id):
            raise NotFound()
        now = datetime.now(UTC)

        def work(session: Session) -> TrashItem:
            row = session.scalar(
                select(FileRow)
                .where(FileRow.id == file_id, FileRow.owner == owner, FileRow.trash_id.is_(None))
                .with_for_update()
            )
            if row is None:
                raise NotFound()
            return trash_file_row(session, row, now)

        return await self._run.write(work)

    @unavailable_on_db_errors
    async def trash_folder(self, folder_id: str, owner: str) -> TrashItem:
        if not is_valid_id(folder_id):
            raise NotFound("folder not found")
        now = datetime.now(UTC)
        return await self._run.write(lambda s: trash_folder_rows(s, folder_id, owner, now))

    @unavailable_on_db_errors
    async def list_trash(self, owner: str, limit: int, cursor: str | None) -> TrashPage:
        sort = SortKey.created_at_desc
        where = [TrashRow.owner == owner]
        if cursor:
            cur = decode_cursor(cursor, sort)
            key = tuple_(TrashRow.deleted_at, TrashRow.id)
            after = tuple_(
                literal(cur.value, TrashRow.deleted_at.type), literal(cur.last_id, TrashRow.id.type)
            )
            where.append(key < after)
        stmt = (
            select(TrashRow)
            .where(*where)
            .order_by(TrashRow.deleted_at.desc(), TrashRow.id.desc())
            .limit(limit + 1)
        )

        def work(session: Session) -> TrashPage:
            rows = list(session.scalars(stmt).all())
            items = [_item(r) for r in rows[:limit]]
            next_cursor = None
            if len(rows) > limit:
                last = rows[limit - 1]
                next_cursor = encode_cursor(Cursor(sort, last.deleted_at, last.id))
            return TrashPage(items, next_cursor)

        return await self._run.read(work)

    @unavailable_on_db_errors
    async def restore(self, item_id: str, owner: str) -> Entry:
        if not is_valid_id(item_id):
            raise NotFound("not in the trash")
        for attempt in range(3):
            try:
                return await self._run.write(lambda s: restore_item(s, item_id, owner))
            except NameTaken:
                # A folder of the path was made by another request meanwhile: try again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @unavailable_on_db_errors
    async def purge(self, item_id: str, owner: str | None) -> Purged:
        if not is_valid_id(item_id):
            raise NotFound("not in the trash")
        keys = await self._run.write(lambda s: purge_item(s, item_id, owner))
        if keys is None:
            raise NotFound("not in the trash")
        return Purged(1, keys)

    @unavailable_on_db_errors
    async def empty(self, owner: str) -> Purged:
        items, keys = 0, []
        while True:

            def work(session: Session) -> tuple[int, list[str]]:
                ids = session.scalars(
                    select(TrashRow.id).where(TrashRow.owner == owner).limit(_EMPTY_BATCH)
                ).all()
                batch: list[str] = []
                done = 0
                for item_id in ids:
                    taken = purge_item(session, item_id, owner)
                    if taken is not None:
                        done += 1
                        batch.extend(taken)
                return done, batch

            done, batch = await self._run.write(work)
            if not done:
                return Purged(items, keys)
            items += done
            keys.extend(batch)

    @unavailable_on_db_errors
    async def expired(self, before: datetime, limit: int) -> list[str]:
        stmt = (
            select(TrashRow.id)
            .where(TrashRow.deleted_at <= before)
            .order_by(TrashRow.deleted_at, TrashRow.id)
            .limit(limit)
        )
        return await self._run.read(lambda s: list(s.scalars(stmt).all()))

    @unavailable_on_db_errors
    async def trash_bytes(self, owner: str) -> int:
        stmt = select(func.coalesce(func.sum(TrashRow.size), 0)).where(TrashRow.owner == owner)
        return await self._run.read(lambda s: int(s.scalar(stmt) or 0))
