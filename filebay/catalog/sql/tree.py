"""The owner's tree in SQL: name claims (unique per folder, enforced by the database) and
the walks up and down the folder records. Every function runs inside the caller's
transaction (a ``Session``), so a claim and the record it names commit together."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from filebay.catalog.files import ROOT, OnConflict
from filebay.catalog.folders import MAX_DEPTH
from filebay.catalog.sql.models import FileRow, FolderRow, NameRow, ShareRow
from filebay.errors import BadRequest, NameTaken, NotFound
from filebay.ids import new_id
from filebay.names import name_key, numbered

#: Give up renaming after this many lost races for one name (never seen; a safety stop).
_RACES = 8


#: The claim statement of each dialect, built once: its values are bound per execution, so
#: SQLAlchemy's compiled cache answers (a statement built with ``.values()`` each time cost
#: more CPU than the rest of recording a small upload).
_CLAIMS = {
    name: module.insert(NameRow.__table__).on_conflict_do_nothing(
        index_elements=["owner", "parent_id", "name_key"]
    )
    for name, module in (("postgresql", postgresql), ("sqlite", sqlite))
}


def _insert_claim(session: Session, owner: str, parent_id: str, key: str, entry_id: str) -> bool:
    """Claim ``key`` in the folder; False when another entry holds it. ``ON CONFLICT DO
    NOTHING`` (both databases) waits for a concurrent claim of the same key to commit or
    roll back, so two racing creations cannot both win, and the loser's transaction stays
    usable for the next name."""
    values = {"owner": owner, "parent_id": parent_id, "name_key": key, "entry_id": entry_id}
    dialect = session.get_bind().dialect.name
    stmt = _CLAIMS["postgresql" if dialect == "postgresql" else "sqlite"]
    return session.execute(stmt, values).rowcount == 1  # type: ignore[attr-defined]


def holder(session: Session, owner: str, parent_id: str, name: str) -> str | None:
    """The id of the entry named ``name`` (folded) in the folder, if any."""
    return session.scalar(
        select(NameRow.entry_id).where(
            NameRow.owner == owner,
            NameRow.parent_id == parent_id,
            NameRow.name_key == name_key(name),
        )
    )


def _free_number(session: Session, owner: str, parent_id: str, name: str) -> int:
    """The smallest n for which ``numbered(name, n)`` is free: one query for the keys that
    look like it, instead of one probe per taken number."""
    stem_key = name_key(numbered(name, 1)).rsplit(" (1)", 1)[0]
    taken = set(
        session.scalars(
            select(NameRow.name_key).where(
                NameRow.owner == owner,
                NameRow.parent_id == parent_id,
                func.substr(NameRow.name_key, 1, len(stem_key) + 2) == stem_key + " (",
            )
        ).all()
    )
    n = 1
    while name_key(numbered(name, n)) in taken:
        n += 1
    return n


def claim(
    session: Session,
    owner: str,
    parent_id: str,
    name: str,
    entry_id: str,
    on_conflict: OnConflict,
) -> tuple[str, str | None]:
    """Give ``entry_id`` the name in the folder. Returns the name it got and, for
    ``replace``, the id of the file it displaced (which the caller removes)."""
    if _insert_claim(session, owner, parent_id, name_key(name), entry_id):
        return name, None
    existing = holder(session, owner, parent_id, name) or ""
    if on_conflict is OnConflict.fail:
        raise NameTaken(existing)
    if on_conflict is OnConflict.replace:
        if session.get(FileRow, existing) is None:  # a folder is never replaced by a file
            raise NameTaken(existing, "a folder of this name exists")
        session.execute(
            update(NameRow).where(NameRow.entry_id == existing).values(entry_id=entry_id)
        )
        return name, existing
    for _ in range(_RACES):
        candidate = numbered(name, _free_number(session, owner, parent_id, name))
        if _insert_claim(session, owner, parent_id, name_key(candidate), entry_id):
            return candidate, None
    raise NameTaken(existing)


def release(session: Session, entry_ids: Iterable[str]) -> None:
    ids = list(entry_ids)
    if ids:
        session.execute(delete(NameRow).where(NameRow.entry_id.in_(ids)))


def reclaim(
    session: Session,
    owner: str,
    parent_id: str,
    name: str,
    entry_id: str,
    on_conflict: OnConflict,
) -> tuple[str, str | None]:
    """A rename or a move: the entry's old name is freed and the new one claimed."""
    release(session, [entry_id])
    return claim(session, owner, parent_id, name, entry_id, on_conflict)


def remove_files(session: Session, file_ids: list[str]) -> list[str]:
    """Delete file records (their names and share links too); their blob keys."""
    if not file_ids:
        return []
    keys = list(
        session.scalars(delete(FileRow).where(FileRow.id.in_(file_ids)).returning(FileRow.blob_key))
    )
    release(session, file_ids)
    session.execute(delete(ShareRow).where(ShareRow.file_id.in_(file_ids)))
    return keys


def folder_row(session: Session, folder_id: str, owner: str, *, lock: bool = False) -> FolderRow:
    """The owner's folder, or ``NotFound``. ``lock``: held until commit, so a folder being
    filled cannot be deleted under the new entry (PostgreSQL; SQLite has one writer)."""
    stmt = select(FolderRow).where(
        FolderRow.id == folder_id, FolderRow.owner == owner, FolderRow.trash_id.is_(None)
    )
    if lock:
        stmt = stmt.with_for_update(read=True)
    row = session.scalar(stmt)
    if row is None:
        raise NotFound("folder not found")
    return row


def check_parent(session: Session, folder_id: str, owner: str) -> None:
    if folder_id != ROOT:
        folder_row(session, folder_id, owner, lock=True)


def ancestors(session: Session, folder_id: str) -> list[FolderRow]:
    """The folder and every folder above it, nearest first (at most ``MAX_DEPTH + 1``)."""
    up = (
        select(FolderRow.id, FolderRow.parent_id, literal(0).label("depth"))
        .where(FolderRow.id == folder_id)
        .cte("up", recursive=True)
    )
    up = up.union_all(
        select(FolderRow.id, FolderRow.parent_id, (up.c.depth + 1).label("depth"))
        .join(up, FolderRow.id == up.c.parent_id)
        .where(up.c.depth <= MAX_DEPTH)
    )
    rows = session.execute(
        select(FolderRow, up.c.depth).join(up, FolderRow.id == up.c.id).order_by(up.c.depth)
    ).all()
    return [row for row, _depth in rows]


def paths(session: Session, folder_ids: Iterable[str]) -> dict[str, str]:
    """``/a/b`` for each folder id (``ROOT`` → ""): one walk up from all of them at once."""
    wanted = {f for f in folder_ids if f != ROOT}
    out = {ROOT: ""}
    if not wanted:
        return out
    up = (
        select(
            FolderRow.id.label("origin"),
            FolderRow.parent_id,
            FolderRow.name,
            literal(0).label("depth"),
        )
        .where(FolderRow.id.in_(wanted))
        .cte("up_paths", recursive=True)
    )
    up = up.union_all(
        select(up.c.origin, FolderRow.parent_id, FolderRow.name, (up.c.depth + 1).label("depth"))
        .join(up, FolderRow.id == up.c.parent_id)
        .where(up.c.depth <= MAX_DEPTH)
    )
    parts: dict[str, list[tuple[int, str]]] = {}
    for origin, _parent, name, depth in session.execute(select(up)).all():
        parts.setdefault(origin, []).append((depth, name))
    for origin, names in parts.items():
        out[origin] = "/" + "/".join(name for _d, name in sorted(names, reverse=True))
    return out


def _below(folder_id: str, name: str) -> Any:
    """A recursive CTE of the folder and every folder below it, with each one's depth."""
    down = (
        select(FolderRow.id, literal(0).label("depth"))
        .where(FolderRow.id == folder_id)
        .cte(name, recursive=True)
    )
    return down.union_all(
        select(FolderRow.id, (down.c.depth + 1).label("depth"))
        .join(down, FolderRow.parent_id == down.c.id)
        .where(down.c.depth <= MAX_DEPTH)
    )


def subtree(folder_id: str) -> Select[tuple[str]]:
    """A query of the folder and every folder below it (ids), to use inside others: a
    subtree of 100,000 folders never travels to Python."""
    return select(_below(folder_id, "down").c.id)


def depth_below(session: Session, folder_id: str) -> int:
    """How many levels of folders hang below ``folder_id`` (0: none)."""
    levels = _below(folder_id, "levels")
    return int(session.scalar(select(func.max(levels.c.depth))) or 0)


def check_depth(levels_above: int, levels_below: int = 0) -> None:
    if levels_above + levels_below + 1 > MAX_DEPTH:
        raise BadRequest(f"folders nest at most {MAX_DEPTH} deep")


def above(session: Session, folder_id: str, owner: str, *, lock: bool = True) -> list[FolderRow]:
    """``folder_id`` and its ancestors, nearest first ([] for the root); ``NotFound``. The
    folder is locked for the transaction (see ``folder_row``) unless ``lock`` is False (a
    read that changes nothing)."""
    if folder_id == ROOT:
        return []
    folder_row(session, folder_id, owner, lock=lock)
    return ancestors(session, folder_id)


def ensure_path(session: Session, owner: str, parent_id: str, names: list[str]) -> str:
    """The folder ``parent_id``/names…, made where missing; ``NameTaken`` when a file is in
    the way (or a concurrent transaction made one of them: the caller tries again)."""
    check_depth(len(above(session, parent_id, owner)) + len(names) - 1)
    current = parent_id
    for name in names:
        existing = holder(session, owner, current, name)
        if existing is not None:
            if session.get(FolderRow, existing) is None:
                raise NameTaken(existing, f"a file named {name!r} is in the way")
            current = existing
            continue
        now = datetime.now(UTC)
        row = FolderRow(
            id=new_id(), owner=owner, parent_id=current, name=name, created_at=now, updated_at=now
        )
        claim(session, owner, current, name, row.id, OnConflict.fail)
        session.add(row)
        session.flush()
        current = row.id
    return current
