"""Shared pieces of the contract suites: what a scenario gets, and how a test makes data."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from filebay.catalog.files import Catalog, NewFile
from filebay.catalog.shares import ShareLookup
from filebay.catalog.sql.files import SqlCatalog
from filebay.catalog.sql.shares import SqlShares
from filebay.catalog.sql.uploads import SqlUploads
from filebay.catalog.sql.users import SqlDirectory
from filebay.catalog.uploads import UploadSession, UploadSessions
from filebay.catalog.users import LoginLimiter, Verifier
from filebay.ids import new_id

SQL_KINDS = ("sqlite", "postgres")


class Remote(Verifier, LoginLimiter, ShareLookup, UploadSessions, Catalog, Protocol):
    """The parts of the contracts that ``HttpCatalog`` implements."""


@dataclass(frozen=True)
class Subjects:
    """One empty database, seen through the implementation under test.

    ``catalog``, ``verifier``, ``limiter``, ``uploads`` and ``lookup`` are the objects
    under test: SQL for the ``sqlite`` and ``postgres`` kinds, the one ``HttpCatalog`` for
    ``remote``. ``directory`` and ``shares`` are always SQL on the same database: they
    set the scene (users, sessions, links) and check it, and they are the implementation
    under test of the parts that only the services with a local database have."""

    kind: str
    catalog: Catalog
    verifier: Verifier
    limiter: LoginLimiter
    uploads: UploadSessions
    lookup: ShareLookup
    directory: SqlDirectory
    shares: SqlShares
    sql: SqlCatalog

    @property
    def remote(self) -> bool:
        return self.kind not in SQL_KINDS

    @classmethod
    def on_sql(cls, kind: str, sql: SqlCatalog) -> Subjects:
        shares, uploads = SqlShares(sql.engine), SqlUploads(sql.engine)
        directory = SqlDirectory(sql.engine)
        return cls(kind, sql, directory, directory, uploads, shares, directory, shares, sql)

    @classmethod
    def on_remote(cls, kind: str, client: Remote, sql: SqlCatalog) -> Subjects:
        directory, shares = SqlDirectory(sql.engine), SqlShares(sql.engine)
        return cls(kind, client, client, client, client, client, directory, shares, sql)


Scenario = Callable[[Catalog], Awaitable[None]]
Runner = Callable[[Scenario], None]
SubjectsScenario = Callable[[Subjects], Awaitable[None]]
SubjectsRunner = Callable[[SubjectsScenario], None]


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


def new_upload(
    owner: str, length: int = 10, *, expires_in: timedelta = timedelta(days=1)
) -> UploadSession:
    """What ``POST /api/tus/`` would record, with a fresh id, at offset 0."""
    now = datetime.now(UTC).replace(microsecond=0)
    return UploadSession(
        id=new_id(),
        owner=owner,
        length=length,
        offset=0,
        name="upload.bin",
        content_type="application/octet-stream",
        metadata_header="filename dXBsb2FkLmJpbg==",
        created_at=now,
        expires_at=now + expires_in,
    )


@dataclass(frozen=True)
class MetadataServer:
    """A running metadata service, its service token and its SQLite file."""

    url: str
    token: str
    database: Path
