"""Shared pieces of the catalog contract suite."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from filebay.catalog.files import Catalog, NewFile
from filebay.ids import new_id

Scenario = Callable[[Catalog], Awaitable[None]]
Runner = Callable[[Scenario], None]


def new_file(owner: str, name: str, size: int = 1, content_type: str = "text/plain") -> NewFile:
    """What the upload path would record, with a fresh id."""
    file_id = new_id()
    return NewFile(
        id=file_id,
        owner=owner,
        name=name,
        size=size,
        content_type=content_type,
        sha256=hashlib.sha256(file_id.encode()).hexdigest(),
        blob_key=file_id,
    )


@dataclass(frozen=True)
class MetadataServer:
    """A running metadata service, its service token and its SQLite file."""

    url: str
    token: str
    database: Path

    def clear(self) -> None:
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as conn:
            conn.execute("DELETE FROM files")
            conn.commit()
